"""Whole-process benchmarks of cvg-pipeline, side by side in one run (issue: performance).

    .venv/bin/python benchmarks/bench.py [--runs 3] [--scales 70,700 | --rapide] [--resultats benchmarks/RESULTS.md]

Builds networks of 70 and 700 workbooks with the examples generator, then times whole processes (best and
median of N runs, peak memory = max RSS of the child process) and prints one table with the ratios and the
targets, each marked met or not. Nothing here is asserted by `make test`: these machines are noisy, so only
ratios measured in the same run are compared.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CVG = str(BIN / "cvg")
PY = sys.executable
DATA = ROOT / "benchmarks" / "data"
OUT = ROOT / "benchmarks" / "out"


@dataclass
class Timing:
    label: str
    command: str
    times: list[float]
    rss_mib: float
    ok: bool

    @property
    def best(self) -> float:
        return min(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times)


# Children run as a user's shell would run them: with Python's bytecode cache (this machine's sessions set
# PYTHONDONTWRITEBYTECODE, which makes every `cvg` run recompile the package, ~80 ms; a regular install
# compiles it once). `compile_package` fills the cache before the first timing.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def compile_package() -> None:
    subprocess.run([PY, "-m", "compileall", "-q", str(ROOT / "src"), str(ROOT / "benchmarks")],
                   check=True, env=ENV, stdout=subprocess.DEVNULL)


def run_once(argv: list[str], *, expect: tuple[int, ...] = (0,)) -> tuple[float, float, int]:
    """Run a whole process; return (wall seconds, max RSS in MiB, exit code)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT, env=ENV)
    _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in expect:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        print(f"  ! {' '.join(argv)} → code {code}\n{err[-2000:]}", file=sys.stderr)
    if proc.stderr:
        proc.stderr.close()
    return elapsed, usage.ru_maxrss / 1024, code


def measure(
    label: str, argv: list[str], runs: int, *, before: list[str] | None = None, expect: tuple[int, ...] = (0,),
    prepare: list[str] | None = None,
) -> Timing:
    times: list[float] = []
    rss = 0.0
    ok = True
    for _ in range(runs):
        if before:
            for p in before:
                Path(p).unlink(missing_ok=True)
        if prepare:  # untimed (e.g. `cvg init`: ingest refuses a missing store)
            subprocess.run(prepare, check=True, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL)
        t, r, code = run_once(argv, expect=expect)
        times.append(t)
        rss = max(rss, r)
        ok = ok and code in expect
    timing = Timing(label, " ".join(Path(a).name if a.startswith(str(BIN)) else a for a in argv), times, rss, ok)
    print(f"  {label:<48} best {timing.best:7.2f} s  median {timing.median:7.2f} s  {rss:7.0f} Mio", file=sys.stderr)
    return timing


def build_network(n: int) -> Path:
    target = DATA / f"reseau-{n}"
    stamp = target / ".complet"
    if stamp.exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    print(f"Génération de {n} classeurs dans {target}…", file=sys.stderr)
    subprocess.run([PY, str(ROOT / "examples" / "generate.py"), "--aci", str(n), "--sortie", str(target)], check=True)
    stamp.touch()
    return target


def bench_scale(n: int, runs: int) -> dict[str, Timing]:
    folder = build_network(n)
    OUT.mkdir(parents=True, exist_ok=True)
    store = OUT / f"bench-{n}.duckdb"
    wal = Path(str(store) + ".wal")
    lock = Path(str(store) + ".lock")
    files = sorted(p for p in folder.rglob("*.xlsx"))
    print(f"\n== {n} classeurs ({len(files)} fichiers) ==", file=sys.stderr)
    res: dict[str, Timing] = {}
    res["ingest"] = measure(
        "cvg ingest (base neuve)", [CVG, "ingest", "--store", str(store), str(folder)], runs,
        before=[str(store), str(wal), str(lock)], prepare=[CVG, "init", "--store", str(store)],
    )
    res["floor"] = measure(
        "plancher de lecture (fastexcel → polars)", [PY, str(ROOT / "benchmarks" / "read_floor.py"), str(folder)], runs
    )
    res["pandas"] = measure(
        "pandas.read_excel(engine='openpyxl')", [PY, str(ROOT / "benchmarks" / "read_pandas.py"), str(folder)], runs
    )
    res["reingest"] = measure(
        "cvg ingest (mêmes fichiers, à nouveau)", [CVG, "ingest", "--store", str(store), str(folder)], runs
    )
    res["verifier"] = measure("cvg verifier (un classeur)", [CVG, "verifier", str(files[0])], runs)
    res["indicators"] = measure(
        "cvg indicators --national --annee 2023",
        [CVG, "indicators", "--store", str(store), "--national", "--annee", "2023"], runs,
    )
    res["report"] = measure(
        "cvg report --national --annee 2023 (md + html)",
        [CVG, "report", "--store", str(store), "--national", "--annee", "2023", "--sortie", str(OUT / f"rapports-{n}")],
        runs,
    )
    res["suivi"] = measure(
        "cvg suivi --mois 2024-01", [CVG, "suivi", "--store", str(store), "--mois", "2024-01"], runs
    )
    res["help"] = measure("cvg --help", [CVG, "--help"], max(runs, 5))
    return res


def fmt(x: float) -> str:
    return f"{x:.2f}"


def table(results: dict[int, dict[str, Timing]]) -> list[str]:
    scales = sorted(results)
    lines = ["| mesure | " + " | ".join(f"{n} classeurs : meilleur / médiane (s) | RSS max (Mio)" for n in scales) + " |"]
    lines.append("|---|" + "---|---|" * len(scales))
    for key in results[scales[0]]:
        cells = []
        for n in scales:
            t = results[n][key]
            flag = "" if t.ok else " ⚠"
            cells.append(f"{fmt(t.best)} / {fmt(t.median)}{flag} | {t.rss_mib:.0f}")
        lines.append(f"| {results[scales[0]][key].label} | " + " | ".join(cells) + " |")
    return lines


def targets(results: dict[int, dict[str, Timing]]) -> list[str]:
    rows: list[tuple[str, float, str, bool]] = []

    def add(name: str, value: float, target: float, unit: str = "") -> None:
        rows.append((name, value, f"≤ {target:g}{unit}", value <= target))

    for n, res in sorted(results.items()):
        ing = res["ingest"].best
        add(f"{n} : ingest ÷ plancher de lecture", ing / res["floor"].best, 2.0 if n >= 700 else 3.5)
        add(f"{n} : ingest ÷ lecture pandas-openpyxl", ing / res["pandas"].best, 0.5)
        if n >= 700:
            add(f"{n} : ré-ingest ÷ ingest", res["reingest"].best / ing, 0.05)
        add(f"{n} : cvg verifier d'un classeur (s)", res["verifier"].best, 1.5)
        add(f"{n} : cvg indicators (s)", res["indicators"].best, 1.0)
        add(f"{n} : cvg report md + html (s)", res["report"].best, 3.0)
        add(f"{n} : cvg suivi (s)", res["suivi"].best, 1.0)
        add(f"{n} : cvg --help (s)", res["help"].best, 0.3)
        add(f"{n} : mémoire max, toutes commandes (Mio)", max(t.rss_mib for t in res.values()), 1024)
    if 70 in results and 700 in results:
        add("ingest 700 ÷ ingest 70 (linéarité)", results[700]["ingest"].best / results[70]["ingest"].best, 12)
    lines = ["| objectif | mesuré | cible | atteint |", "|---|---|---|---|"]
    for name, value, target, met in rows:
        lines.append(f"| {name} | {value:.3f} | {target} | {'oui' if met else '**non**'} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scales", default="70,700")
    parser.add_argument("--rapide", action="store_true", help="70 classeurs seulement (équivaut à --scales 70)")
    parser.add_argument("--resultats", type=Path, default=None, help="écrit les tableaux dans ce fichier Markdown")
    args = parser.parse_args()
    if args.rapide:
        args.scales = "70"
    scales = [int(s) for s in args.scales.split(",") if s]
    compile_package()
    load_before = os.getloadavg()
    results = {n: bench_scale(n, args.runs) for n in scales}
    load_after = os.getloadavg()
    head = [
        f"Mesuré le {datetime.now(UTC):%Y-%m-%d %H:%M} UTC sur {platform.node()} ({os.cpu_count()} cœurs, "
        f"{platform.machine()}, Python {platform.python_version()}), commande : "
        f"`python benchmarks/bench.py --runs {args.runs} --scales {args.scales}`. Charge de la machine "
        f"(load average 1 / 5 / 15 min) : {' / '.join(f'{x:.2f}' for x in load_before)} au début, "
        f"{' / '.join(f'{x:.2f}' for x in load_after)} à la fin.",
        "",
    ]
    out = [*head, *table(results), "", *targets(results)]
    print("\n".join(out))
    if args.resultats:
        text = args.resultats.read_text(encoding="utf-8") if args.resultats.exists() else ""
        begin, end = "<!-- bench:debut -->", "<!-- bench:fin -->"
        block = "\n".join([begin, *out, end])
        if begin in text and end in text:
            text = text[: text.index(begin)] + block + text[text.index(end) + len(end):]
        else:
            text = text + "\n" + block + "\n"
        args.resultats.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
