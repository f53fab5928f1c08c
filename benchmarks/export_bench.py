"""Whole-process benchmark of `cvg export` (issue 19 point 2: every perimeter × programme × year < 10 s on a
70-ACI network), side by side with a reference source tree if given.

    .venv/bin/python benchmarks/export_bench.py [--runs 3] [--aci 70] [--reference OTHER/src]

Builds the network with `examples/generate.py` (as bench.py, in benchmarks/data/, built once), ingests it
into benchmarks/out/export-<n>.duckdb once, then times whole processes (best and median of N runs): `cvg
export` (csv + parquet), `cvg export --seuil-secret 0` (no secret) and `cvg report --national --annee 2023`
(md + html, which must not get slower), and one in-process run split into stages (indicators, reports'
secret, rows, files; reports in this process only, so the stages add up). With `--reference`, the same
for that source tree (e.g. a `git worktree` of an older commit), the ratio new ÷ reference, and whether
the two CSV files are identical byte for byte. Nothing here is asserted by the tests: only ratios
measured in the same run are compared (a shared machine is noisy; the load average is printed).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import ENV, OUT, PY, ROOT, build_network, compile_package

SOURCE = ROOT / "src"


def env_for(src: Path) -> dict[str, str]:
    return {**ENV, "PYTHONPATH": str(src)}


def run(argv: list[str], src: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=env_for(src), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} → code {done.returncode}\n{done.stderr.decode(errors='replace')[-2000:]}")
    return elapsed


def timed(label: str, argv: list[str], src: Path, runs: int) -> tuple[float, float]:
    times = [run(argv, src) for _ in range(runs)]
    best, median = min(times), statistics.median(times)
    print(f"  {label:<44} best {best:6.2f} s  median {median:6.2f} s", file=sys.stderr)
    return best, median


def prepare_store(n: int) -> Path:
    folder = build_network(n)
    OUT.mkdir(parents=True, exist_ok=True)
    store = OUT / f"export-{n}.duckdb"
    if not store.exists():
        run([PY, "-m", "cvg_pipeline", "init", "--store", str(store)], SOURCE)
        run([PY, "-m", "cvg_pipeline", "ingest", "--store", str(store), "--quiet", str(folder)], SOURCE)
    return store


# -- the stages, in one process (run as a child: `--etapes STORE`) ---------------------------------------
def _module(*names: str) -> Any:
    """The first of these modules that imports."""
    import importlib

    for name in names[:-1]:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return importlib.import_module(names[-1])


def stages(store: Path) -> dict[str, float]:
    """build_export split by where the time goes, wall and CPU (`time.process_time`: every thread of this
    process, DuckDB's included): the first report starts once the indicators are all computed (both trees
    compute them first); the reports' view models and secret are summed; the rest of build_export is the
    rows; then the files. The reports are all built in this process."""
    import inspect

    clocks = (time.perf_counter, time.process_time)
    t0 = [c() for c in clocks]
    # this tree's modules, or (a reference tree from before the package move) the flat ones; the flat
    # names are built so that the move's import rewriter leaves them alone
    flat = "cvg_pipeline" + "."
    # the export: the package report/export/ (build_export in cube, write_export in files), or one module
    cube = _module("cvg_pipeline.report.export.cube", "cvg_pipeline.report.export", flat + "export")
    files = _module("cvg_pipeline.report.export.files", "cvg_pipeline.report.export", flat + "export")
    report = _module("cvg_pipeline.report.build", flat + "report")
    load_schema = _module("cvg_pipeline.schema.load", flat + "schema").load_schema

    schema = load_schema()
    first: list[list[float]] = []
    spent = [0.0, 0.0]
    real = report.build_report

    def counting(*args: object, **kwargs: object) -> object:
        start = [c() for c in clocks]
        if not first:
            first.append(start)
        try:
            return real(*args, **kwargs)
        finally:
            for i, c in enumerate(clocks):
                spent[i] += c() - start[i]

    report.build_report = counting
    extra = {"worker": False} if "worker" in inspect.signature(cube.build_export).parameters else {}
    t1 = [c() for c in clocks]
    result = cube.build_export(store, schema, **extra)
    t2 = [c() for c in clocks]
    out = OUT / f"etapes-{os.getpid()}"
    files.write_export(result, out, ("csv", "parquet"), ecraser=True)
    t3 = [c() for c in clocks]
    start = first[0] if first else t2
    out_stages: dict[str, float] = {}
    for i, clock in enumerate(("mur", "CPU")):
        out_stages.update({
            f"imports et schéma ({clock})": t1[i] - t0[i],
            f"indicateurs : base ouverte, requêtes ({clock})": start[i] - t1[i],
            f"rapports : modèle de vue + secret ({clock})": spent[i],
            f"lignes ({clock})": t2[i] - start[i] - spent[i],
            f"fichiers csv, parquet, datapackage ({clock})": t3[i] - t2[i],
            f"total ({clock})": t3[i] - t0[i],
        })
    return out_stages


def stage_child(store: Path, src: Path) -> dict[str, float]:
    done = subprocess.run([PY, str(Path(__file__).resolve()), "--etapes", str(store)], cwd=ROOT, env=env_for(src),
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-2000:])
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def measure(src: Path, store: Path, runs: int, tag: str) -> dict[str, object]:
    print(f"\n== {tag} : {src} ==", file=sys.stderr)
    out = OUT / f"export-{tag}"
    cvg = [PY, "-m", "cvg_pipeline"]
    res: dict[str, object] = {
        "export": timed("cvg export (csv, parquet)", [*cvg, "export", "--store", str(store), "--sortie", str(out),
                                                        "--ecraser"], src, runs),
        "export0": timed("cvg export --seuil-secret 0", [*cvg, "export", "--store", str(store), "--sortie",
                                                          str(out) + "-0", "--ecraser", "--seuil-secret", "0"], src, runs),
        "report": timed("cvg report --national --annee 2023", [*cvg, "report", "--store", str(store), "--national",
                                                               "--annee", "2023", "--sortie", str(out) + "-rapport"],
                        src, runs),
        "stages": stage_child(store, src),
        "csv": out / "indicateurs.csv",
    }
    return res


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--aci", type=int, default=70)
    parser.add_argument("--reference", type=Path, default=None, help="le dossier src d'un autre arbre à comparer")
    parser.add_argument("--etapes", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.etapes is not None:
        print(json.dumps(stages(args.etapes)))
        return
    compile_package()
    store = prepare_store(args.aci)
    load_before = os.getloadavg()
    new = measure(SOURCE, store, args.runs, "actuel")
    ref = measure(args.reference.resolve(), store, args.runs, "reference") if args.reference else None
    load_after = os.getloadavg()
    print(f"\n{args.aci} ACI, {os.cpu_count()} cœurs ; load average {load_before[0]:.2f} au début, "
          f"{load_after[0]:.2f} à la fin. Meilleur / médiane de {args.runs} (s).\n")
    head = "| mesure | actuel | " + ("référence | actuel ÷ référence |" if ref else "")
    print(head)
    print("|---|---|" + ("---|---|" if ref else ""))
    for key, label in (("export", "cvg export"), ("export0", "cvg export --seuil-secret 0"),
                       ("report", "cvg report --national --annee 2023 (md + html)")):
        a = new[key]
        assert isinstance(a, tuple)
        line = f"| {label} | {a[0]:.2f} / {a[1]:.2f} |"
        if ref:
            b = ref[key]
            assert isinstance(b, tuple)
            line += f" {b[0]:.2f} / {b[1]:.2f} | {a[0] / b[0]:.3f} |"
        print(line)
    print("\nÉtapes (un processus, rapports tous dans ce processus) :\n")
    print("| étape | actuel (s) |" + (" référence (s) |" if ref else ""))
    print("|---|---|" + ("---|" if ref else ""))
    stages_new = new["stages"]
    assert isinstance(stages_new, dict)
    for name, value in stages_new.items():
        line = f"| {name} | {value:.2f} |"
        if ref:
            other = ref["stages"]
            assert isinstance(other, dict)
            line += f" {other.get(name, float('nan')):.2f} |"
        print(line)
    best = new["export"]
    assert isinstance(best, tuple)
    print(f"\nObjectif cvg export < 10 s : {'atteint' if best[0] < 10 else 'non atteint'} ({best[0]:.2f} s).")
    if ref:
        a_csv, b_csv = new["csv"], ref["csv"]
        assert isinstance(a_csv, Path) and isinstance(b_csv, Path)
        same = a_csv.read_bytes() == b_csv.read_bytes()
        print(f"CSV identiques octet pour octet : {'oui' if same else 'NON'}.")


if __name__ == "__main__":
    main()
