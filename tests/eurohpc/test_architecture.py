"""The apps stand in a stack, grants > calls > hosting > eurohpc: a lower app never imports a higher one.

The contract is import-linter's, `[tool.importlinter]` in pyproject.toml; `make check` runs it too. A failure
here prints the offending imports (module and line); invert the dependency with a provider the higher app
registers in its AppConfig.ready() (calls/providers.py, hosting/providers.py) rather than adding an exception.
"""

from pathlib import Path

import grimp
from importlinter.api import read_configuration
from importlinter.cli import EXIT_STATUS_SUCCESS, lint_imports

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
STACK = ["grants", "calls", "hosting", "eurohpc"]


def _layers_contract() -> dict:
    contracts = read_configuration(str(PYPROJECT))["contracts_options"]
    return next(c for c in contracts if c["type"] == "layers")


def test_the_layers_contract_is_the_stack_of_apps():
    assert _layers_contract()["layers"] == STACK


def test_no_app_imports_an_app_above_it():
    # What `lint-imports` runs (make check); its report, printed in the captured output, names each offending
    # import with its module and line.
    exit_code = lint_imports(config_filename=str(PYPROJECT), no_cache=True, no_logo=True)
    assert exit_code == EXIT_STATUS_SUCCESS, "an app imports an app above it: see the report printed above"


def test_an_upward_import_breaks_the_configured_layers():
    layers = _layers_contract()["layers"]
    graph = grimp.build_graph(*layers, cache_dir=None)

    def upward() -> set[tuple[str, str]]:
        return {(d.importer, d.imported) for d in graph.find_illegal_dependencies_for_layers(layers=layers)}

    assert ("hosting", "grants") not in upward()
    graph.add_import(importer="hosting.models", imported="grants.models", line_number=1, line_contents="import")
    assert ("hosting", "grants") in upward()
