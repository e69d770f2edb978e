"""The type stubs (rlgrad/_rlgrad.pyi) describe the native module as it is: the same
classes, functions and methods, with the same parameter names (read from the native
signatures), and help() shows a docstring for every public item."""

import ast
import inspect
import pathlib

import rlgrad
from rlgrad import _rlgrad

STUB = pathlib.Path(rlgrad.__file__).with_name("_rlgrad.pyi")


def stub_items():
    tree = ast.parse(STUB.read_text())
    functions, classes = {}, {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            functions[node.name] = node
        elif isinstance(node, ast.ClassDef):
            classes[node.name] = {
                n.name: n for n in node.body if isinstance(n, ast.FunctionDef)
            }
    return functions, classes


def params(node):
    a = node.args
    names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs]
    return [n for n in names if n not in ("self", "cls")]


def native_params(obj):
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    names = [p for p in sig.parameters if p not in ("self", "cls", "$self", "$cls")]
    # A slot wrapper (__call__) shows the generic (*args, **kwargs): nothing to compare.
    return None if names == ["args", "kwargs"] else names


def test_the_stub_names_every_native_item_and_its_parameters():
    functions, classes = stub_items()
    native = {n for n in dir(_rlgrad) if not n.startswith("__")}
    assert native - {"__version__"} <= set(functions) | set(classes), native - set(functions) - set(classes)
    assert set(functions) | set(classes) <= native
    for name, node in functions.items():
        assert params(node) == native_params(getattr(_rlgrad, name)), name
    for cls, methods in classes.items():
        obj = getattr(_rlgrad, cls)
        public = {
            n for n, v in vars(obj).items()
            if not n.startswith("__") and (callable(v) or isinstance(v, (property, staticmethod, classmethod)) or hasattr(v, "__get__"))
        }
        stubbed = set(methods) - {"__init__", "__len__", "__getitem__", "__contains__", "__iter__", "__call__"}
        assert public == stubbed, (cls, public ^ stubbed)
        for m, node in methods.items():
            target = obj if m == "__init__" else getattr(obj, m, None)
            if m == "__init__" or isinstance(inspect.getattr_static(obj, m), property) or "property" in [
                getattr(d, "id", None) for d in node.decorator_list
            ]:
                if m == "__init__":
                    got = native_params(obj)
                    if got is not None:
                        assert params(node) == got, (cls, m)
                continue
            got = native_params(target)
            if got is not None:
                assert params(node) == got, (cls, m)


def test_help_shows_a_docstring_for_every_public_item():
    for name in rlgrad.__all__:
        obj = getattr(rlgrad, name)
        if name == "__version__":
            continue
        assert (obj.__doc__ or "").strip(), name
    for cls in (rlgrad.Model, rlgrad.Dataset, rlgrad.Gaussian, rlgrad.EmRun, rlgrad.EStep):
        for m, v in vars(cls).items():
            if m.startswith("_"):
                continue
            assert (getattr(v, "__doc__", None) or "").strip(), f"{cls.__name__}.{m}"


def test_the_readme_model_table_is_the_menu():
    readme = (pathlib.Path(__file__).resolve().parents[1] / "README.md").read_text()
    for row in rlgrad.models().itertuples():
        assert f"| `{row.model}` | {row.params} | {row.description} |" in readme, row.model
