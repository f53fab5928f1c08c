"""Whole-process timing of `cvg indicators` on a store of random parcours (issue 5: national < 1 s for 60,000).

    .venv/bin/python benchmarks/indicators_bench.py [--parcours 60000] [--aci 60] [--runs 5]

Fills `benchmarks/out/indicators.duckdb` directly (tests/storefill.py; one snapshot per ACI plus an older one
for a third of them), then times `cvg indicators --national --annee 2023` and `--territoire lyon` as whole
processes (imports included). Prints best and median. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cvg_pipeline.schema.load import Column, Schema, load_schema  # noqa: E402
from tests.builders import make_siret  # noqa: E402
from tests.storefill import fill_store, snapshot  # noqa: E402

CVG = str(Path(sys.executable).parent / "cvg")


def random_value(rng: random.Random, schema: Schema, col: Column, sortie: bool, row: dict[str, Any]) -> Any:
    if (col.exit_only and not sortie) or (col.only_if is not None and row.get(col.only_if) is not True):
        return None
    required = col.required or (col.rule == "si_sortie" and sortie)
    if not required and rng.random() < 0.2:
        return None
    if col.type == "cat":
        return rng.choice(schema.domain_of(col).labels)
    if col.type == "bool":
        return rng.random() < 0.4
    if col.type == "number":
        return rng.randint(4, 140) / 4
    return None


def random_parcours(rng: random.Random, schema: Schema, arrete: date) -> dict[str, Any]:
    first = date(2018, 1, 1)
    entree = first + timedelta(days=rng.randint(0, (arrete - first).days))
    sortie = None
    if rng.random() < 0.6:
        sortie = entree + timedelta(days=rng.randint(0, min(900, (arrete - entree).days)))
    row: dict[str, Any] = {"date_entree": entree, "date_sortie": sortie, "annee_naissance": entree.year - rng.randint(16, 80)}
    for col in schema.columns:
        if col.name not in row and col.name != "id_salarie":
            row[col.name] = random_value(rng, schema, col, sortie is not None, row)
    return row


def build(path: Path, n_parcours: int, n_aci: int, seed: int = 5) -> None:
    rng = random.Random(seed)
    schema = load_schema()
    slugs = [t.slug for t in schema.territoires]
    supports = schema.domains["supports"].labels
    path.unlink(missing_ok=True)
    snaps = []
    per_aci = n_parcours // n_aci
    for i in range(n_aci):
        siret = make_siret(f"{2000000000000 + i * 7919:013d}")
        common = {"territoire": slugs[i % len(slugs)], "supports": rng.sample(supports, rng.randint(0, 2)),
                  "nom": f"ACI {i}"}
        if i % 3 == 0:  # an older snapshot, history that the default selection must skip
            old = date(2023, 6, 30)
            snaps.append(snapshot(siret, old, parcours=[random_parcours(rng, schema, old) for _ in range(per_aci // 2)], **common))
        arrete = date(2024, 1, 31)
        snaps.append(snapshot(siret, arrete, parcours=[random_parcours(rng, schema, arrete) for _ in range(per_aci)], **common))
    fill_store(path, snaps, schema)


def timed(args: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--parcours", type=int, default=60000)
    parser.add_argument("--aci", type=int, default=60)
    parser.add_argument("--runs", type=int, default=5)
    opts = parser.parse_args()
    store = ROOT / "benchmarks" / "out" / "indicators.duckdb"
    store.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    build(store, opts.parcours, opts.aci)
    print(f"store: {opts.parcours} parcours in {opts.aci} ACI built in {time.perf_counter() - start:.1f} s")
    for label, extra in (("--national", ["--national"]), ("--territoire lyon", ["--territoire", "lyon"]),
                         ("--help (floor)", None)):
        cmd = [CVG, "indicators", "--store", str(store), "--annee", "2023", *extra] if extra else [CVG, "--help"]
        times = timed(cmd, opts.runs)
        print(f"cvg indicators {label}: best {min(times):.3f} s, median {statistics.median(times):.3f} s")


if __name__ == "__main__":
    main()
