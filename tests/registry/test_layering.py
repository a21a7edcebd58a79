"""registry/ is the domain core: it must never import the web layer."""
import ast
import subprocess
import sys
from pathlib import Path

REGISTRY = Path(__file__).resolve().parents[2] / "registry"
WEB = ("flask", "werkzeug", "dsure_portal", "flask_login", "flask_wtf", "flask_limiter")


def test_no_registry_module_imports_the_web_layer():
    offenders = []
    for path in REGISTRY.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in WEB]
    assert offenders == []


def test_importing_all_of_registry_loads_no_flask():
    modules = ",".join(".".join(("registry",) + p.relative_to(REGISTRY).with_suffix("").parts)
                       for p in REGISTRY.rglob("*.py") if p.stem != "__init__")
    code = (f"import importlib, sys\nfor m in '{modules}'.split(','): importlib.import_module(m)\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('flask', 'werkzeug')]\n"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REGISTRY.parent)
