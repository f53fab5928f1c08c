"""Shared pytest configuration: hypothesis profiles, and the order in which `pytest -n 2` hands out the tests.

Sizes: `make test` runs the property, crash and interrupt tests on a representative sample; `make fuzz`
(HYPOTHESIS_PROFILE=fuzz) and `make soak` (CVG_SOAK=1, …) run them at full size (tests/sizes.py).

Order: under `-n 2` the run uses pytest-xdist's `loadfile` distribution without its reordering
(`pytest_configure` below): each module runs whole on one worker, so its module-scoped fixtures (a store, a
generated network, LibreOffice's profile) are built once instead of once per worker, and the workers take
the modules in collection order, longest first, so that the run does not end with one worker alone on a
long module. (`--dist loadgroup` would group finer, but pytest-xdist 3.8 cannot name the groups of pytest 9's
items: it sets `item._nodeid`, which pytest 9 no longer reads.)
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from tests import networks

settings.register_profile("ci", max_examples=100, deadline=None)
settings.register_profile("fuzz", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Seconds each module took (sum of its tests' durations, `pytest -n 2 --durations=0` of the whole suite on the
# 2-core machine, 3 December 2026 at 23:35, loaded by other jobs: about twice what it takes at rest, in the same
# proportions; test_export and test_extract from their reworked runs); a module not listed counts 1 s. Only the
# order depends on these numbers: a stale entry makes the run a little longer, never wrong.
COST = {
    "test_export.py": 23.3, "test_real_clients.py": 79.1, "test_report.py": 70.1, "test_secret_adversary.py": 37.9,
    "test_store_edges.py": 33.6, "test_annotate.py": 29.7, "test_report_pdf.py": 24.1, "test_safety.py": 20.6,
    "test_extract.py": 6.9, "test_ingest_integrity.py": 17.4, "test_suivi.py": 15.1, "test_demo.py": 15.0,
    "test_bad_files.py": 15.0, "test_streams.py": 14.8, "test_wheel.py": 12.6, "test_inputs_edge.py": 10.1,
    "test_flux_logement.py": 12.0, "test_report_captions.py": 7.7, "test_validate.py": 7.1, "test_indicators_invariants.py": 6.6,
    "test_ingest.py": 6.5, "test_crash.py": 6.4, "test_cli_screen.py": 6.2, "test_report_v2.py": 6.1,
    "test_ctrl_c_soak.py": 5.7, "test_interrupts.py": 5.5, "test_identifiers.py": 5.3, "test_cli_indicators.py": 5.1,
    "test_privacy_leaks.py": 5.1, "test_report_browser.py": 4.8, "test_report_files.py": 4.8,
    "test_store_safety.py": 4.6, "test_fuzz.py": 4.5, "test_locking.py": 4.4, "test_template.py": 4.0,
    "test_examples.py": 4.0, "test_store_paths.py": 3.8, "test_parsers_hypothesis.py": 3.6,
    "test_store_index.py": 3.1, "test_golden_text.py": 2.9, "test_cli_french.py": 2.6, "test_schema_growth.py": 2.5,
    "test_cli_ingest.py": 2.4, "test_indicators.py": 2.3, "test_store_init.py": 1.9, "test_error_codes.py": 1.8,
}
# Tests that take several seconds on their own, started before the rest of their module.
LONG = {
    "test_the_wheel_works_outside_the_source_tree", "test_invariants",
    "test_ctrl_c_at_any_moment_of_the_writing_says_what_the_store_holds", "test_ingest_killed_at_random_moments",
    "test_no_hidden_count_can_be_pinned_down", "test_ctrl_c_at_any_moment_of_a_100_file_ingest",
}


def pytest_configure(config: pytest.Config) -> None:
    if getattr(config.option, "dist", "no") == "load":  # pytest-xdist has made `-n 2` `--dist load`
        config.option.dist = "loadfile"  # a module's tests go to one worker: its fixtures are built once
        config.option.loadscopereorder = False  # keep the order below (longest module first)
    if not hasattr(config, "workerinput"):  # once per run: in the controller, or in a run without workers
        _compile_sources()


def _compile_sources() -> None:
    """The `cvg` processes the tests start (a couple of hundred: signals, concurrency, streams, the entry
    point) import cvg_pipeline from its sources. Under PYTHONDONTWRITEBYTECODE (set in many containers)
    Python never writes their bytecode, so each process compiled every module it imports again (~70 ms of
    its start). They are compiled once per run instead, into the usual __pycache__ folders next to the
    sources (ignored by git; an unchanged module is not rewritten)."""
    import compileall
    import importlib.util
    import sys

    if not sys.flags.dont_write_bytecode:
        return  # Python writes them itself, at the first import
    spec = importlib.util.find_spec("cvg_pipeline")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        compileall.compile_dir(folder, quiet=2)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    index = {id(item): k for k, item in enumerate(items)}

    def key(item: pytest.Item) -> tuple[float, str, bool, int]:
        name = item.path.name
        return (-COST.get(name, 1.0), name, getattr(item, "originalname", item.name) not in LONG, index[id(item)])

    items.sort(key=key)


@pytest.fixture(scope="session")
def network70(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated 70-ACI network, ingested once per run for every module (tests/networks.py): read it only."""
    return networks.network70(tmp_path_factory)


@pytest.fixture(scope="session")
def examples_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The examples ingested by `cvg init` + `cvg ingest`, once per run (tests/networks.py): read it only."""
    return networks.examples_store(tmp_path_factory)


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The examples ingested by the library on 30 June 2024, once per run (tests/networks.py): read it only."""
    return networks.demo_store(tmp_path_factory)
