"""`cvg ingest`, `cvg verifier`, `cvg historique`: bring the ACI workbooks in, check them, list the snapshots.

Thin commands: options are parsed here, the work is done by `cvg_pipeline.ingest` (imported inside the
functions, with polars, duckdb and pandera behind it, so `cvg --help` stays instant), and the result is
rendered here: a rich progress bar on stderr, the table and the errors on stdout, or one JSON object with
`--json`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cvg_pipeline.commands.common import StoreOption, WaitOption, echo, fail, guarded
from cvg_pipeline.model import display_name

if TYPE_CHECKING:
    from rich.console import Console

    from cvg_pipeline.annotate import Outcome
    from cvg_pipeline.errors import Issue
    from cvg_pipeline.ingest import FileResult, Progress

PathsArgument = Annotated[
    list[Path],
    typer.Argument(
        metavar="CHEMIN…",
        help="Fichiers (.xlsx, .xlsm, .xls, .ods) ou dossiers, parcourus avec leurs sous-dossiers.",
        show_default=False,
    ),
]
JsonOption = Annotated[
    bool,
    typer.Option("--json", help="Écrit le résultat en JSON (un objet) sur la sortie standard, sans tableau."),
]
ErrorsOption = Annotated[
    Path | None,
    typer.Option(
        "--erreurs",
        metavar="DOSSIER",
        help=(
            "Écrit dans DOSSIER, pour chaque fichier refusé, une copie annotée "
            "« <fichier>-erreurs.xlsx » à renvoyer à l'ACI (cellules en erreur surlignées et commentées, "
            "sans donnée personnelle). Aucun fichier existant n'est remplacé : si le nom est pris, "
            "« <fichier>-erreurs-2.xlsx », puis -3… Défaut : le dossier « erreurs » à côté de la base "
            "(ingest), dans le dossier courant (verifier), jamais dans un dossier de fichiers à lire : "
            "s'il en fait partie, donnez --erreurs."
        ),
        show_default=False,
    ),
]

STAGES = {"lecture": "Lecture des fichiers", "validation": "Vérification", "enregistrement": "Enregistrement"}


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `cvg` application."""
    app.command("ingest")(ingest)
    app.command("verifier")(verifier)
    app.command("historique")(historique)


# -- commands -----------------------------------------------------------------------------------------------


def ingest(
    chemins: PathsArgument,
    store: StoreOption = None,
    attente: WaitOption = None,
    json_output: JsonOption = False,
    erreurs: ErrorsOption = None,
) -> None:
    """Vérifie et intègre les fichiers de reporting dans la base (un fichier refusé ne change rien)."""

    def run() -> int:
        from cvg_pipeline.ingest import ingest_paths
        from cvg_pipeline.store import resolve_store_path

        store_path = resolve_store_path(store)
        with _progress(enabled=True) as progress:
            result = ingest_paths(chemins, store_path, progress=progress)
        try:
            written = _error_workbooks(result.files, erreurs, default=store_path.absolute().parent / "erreurs", inputs=chemins)
            if json_output:
                _echo_json(_with_workbooks(result.to_dict(), written))
            else:
                _render(result.files, written, verb="intégré", names=result.territoire_names)
        except KeyboardInterrupt:  # the storing is over: say so, not a bare « interrompu »
            from cvg_pipeline.fr import pluriel

            stored = sum(1 for f in result.files if f.statut in ("intégré", "remplacé", "historique"))
            fail(
                f"interrompu après l'enregistrement ({pluriel(stored, 'fichier enregistré', 'fichiers enregistrés')}) : "
                "le tableau et les classeurs d'erreurs n'ont peut-être pas tous été écrits ; « cvg historique » "
                "liste ce que contient la base.",
                130,
            )
        if result.echec is not None:  # full disk, interrupt: what was stored is in the table (or the JSON)
            fail(result.echec, result.exit_code)
        return result.exit_code

    raise typer.Exit(guarded(run))


def verifier(
    fichiers: Annotated[
        list[Path],
        typer.Argument(
            metavar="FICHIER…",
            help="Classeurs à vérifier (ou dossiers) : rien n'est enregistré.",
            show_default=False,
        ),
    ],
    json_output: JsonOption = False,
    erreurs: ErrorsOption = None,
) -> None:
    """Vérifie des fichiers comme « cvg ingest », sans rien enregistrer (à lancer avant l'envoi)."""

    def run() -> int:
        from cvg_pipeline.ingest import IngestResult, verify_paths

        with _progress(enabled=len(fichiers) > 1 or any(p.is_dir() for p in fichiers)) as progress:
            files = verify_paths(fichiers, progress=progress)
        result = IngestResult(files)
        written = _error_workbooks(files, erreurs, default=Path("erreurs").absolute(), inputs=fichiers)
        if json_output:
            _echo_json(_with_workbooks(result.to_dict(), written))
        else:
            _render(files, written, verb="vérifié")
        return result.exit_code

    raise typer.Exit(guarded(run))


def historique(
    store: StoreOption = None,
    attente: WaitOption = None,
    territoire: Annotated[
        str | None,
        typer.Option("--territoire", metavar="NOM", help="Seulement les ACI d'un territoire, par son nom ou son code (ex. lyon)."),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Liste les fichiers intégrés (un par ACI et par date d'arrêté) et les fichiers refusés, les plus récents d'abord.

    \b
    Exemples :
      cvg historique
      cvg historique --territoire lyon
      cvg historique --json > historique.json
    """

    def run() -> None:
        from cvg_pipeline.ingest import snapshot_history
        from cvg_pipeline.store import resolve_store_path

        rows = snapshot_history(resolve_store_path(store), territoire=territoire)
        if json_output:
            _echo_json({"version": 1, "fichiers": [_history_json(r) for r in rows]})
        else:
            _render_history(rows)

    guarded(run)


# -- rendering ----------------------------------------------------------------------------------------------
# Lines are lists of segments, each a text or (text, rich style): user text is never parsed as markup, so it
# needs no escaping. On a terminal they go through rich (colours); to a file or a pipe (a script, a test,
# `> journal.txt`) they are written as plain text without importing rich (~50 ms of a run that is all
# `déjà intégré`).

Segment = str | tuple[str, str]


class _Out:
    """stdout: rich on a terminal, plain text otherwise (never wrapped, as the table is wide)."""

    def __init__(self) -> None:
        self.console: Console | None = None
        if sys.stdout.isatty():
            from rich.console import Console

            self.console = Console(highlight=False, soft_wrap=True)

    def line(self, *segments: Segment) -> None:
        self.lines([list(segments)])

    def lines(self, rows: list[list[Segment]]) -> None:
        if self.console is None:
            sys.stdout.write("".join("".join(x if isinstance(x, str) else x[0] for x in row) + "\n" for row in rows))
            return
        from rich.text import Text

        for row in rows:
            self.console.print(Text.assemble(*row))


def _echo_json(payload: dict[str, Any]) -> None:
    import json

    echo(json.dumps(payload, ensure_ascii=False, indent=2, default=str))


class _progress:
    """A rich progress bar on stderr (only on a terminal); yields the `progress` callback of the library."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.bar: Any = None
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self.bar.start()
        return self.update

    def update(self, stage: str, done: int, total: int) -> None:
        if self.bar is None:
            return
        if stage not in self.tasks:
            self.tasks[stage] = self.bar.add_task(STAGES.get(stage, stage), total=total)
        self.bar.update(self.tasks[stage], completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _error_workbooks(
    files: list[FileResult], dest: Path | None, *, default: Path, inputs: list[Path]
) -> dict[Path, Outcome]:
    """The annotated copy of every refused file (annotate.py), into `dest` (`--erreurs`) or `default`.

    The default folder (`erreurs/` next to the store for ingest, in the current folder for verifier) is never
    inside a folder given to read: an error workbook there would sit among the inputs (and be read as one by
    the next scan once the ACI saves it). In that case nothing is written and each refused file says why and
    what to do. A folder given with `--erreurs` is used as asked. Either way no existing file is replaced
    (annotate.write_error_workbook).
    """
    # not for what is not a regular file (a FIFO, a device, an unreadable folder): not an ACI's file to return
    refused = [f for f in files if f.errors and f.path.is_file()]
    if not refused:
        return {}
    from cvg_pipeline.annotate import Outcome, write_error_workbooks

    if dest is None:
        inside = _input_folder_holding(default, inputs)
        if inside is not None:
            probleme = (
                f"le dossier par défaut « {default} » est dans le dossier à lire « {inside} » : "
                "indiquez où écrire les classeurs d'erreurs avec --erreurs DOSSIER"
            )
            return {f.path: Outcome(f.path, None, probleme) for f in refused}
        dest = default
    from cvg_pipeline.schema import load_schema

    # named after the path shown (`lyon/aci.xlsx` → `lyon-aci-erreurs.xlsx`): two `aci.xlsx` from two folders
    # get workbooks that say which is which
    stems = [_workbook_stem(f.fichier) for f in refused]
    outcomes = write_error_workbooks([(f.path, f.issues) for f in refused], dest, load_schema(), stems=stems)
    return {f.path: o for f, o in zip(refused, outcomes, strict=True)}


def _workbook_stem(fichier: str) -> str:
    """The base of an error workbook's name from the file as shown: `lyon/aci.xlsx` → `lyon-aci` (the last
    three parts of a path, without its root, `..` or extension)."""
    from pathlib import PurePath

    parts = [p for p in PurePath(fichier).parts if p not in ("/", "\\", "..", ".") and not p.endswith(":\\")]
    if not parts:
        return Path(fichier).stem
    parts[-1] = PurePath(parts[-1]).stem
    return "-".join(parts[-3:])


def _input_folder_holding(folder: Path, inputs: list[Path]) -> Path | None:
    """The folder among `inputs` (those read with their subfolders) that is `folder` or holds it, if any."""
    target = folder.resolve()
    for path in inputs:
        if path.is_dir() and target.is_relative_to(path.resolve()):
            return path
    return None


def _with_workbooks(payload: dict[str, Any], written: dict[Path, Outcome]) -> dict[str, Any]:
    """`--json`: each refused file gets `classeur_erreurs` (path, or null and `classeur_erreurs_probleme`)."""
    shown = {display_name(str(path)): outcome for path, outcome in written.items()}  # as `chemin` shows it
    for entry in payload["fichiers"]:
        outcome = shown.get(entry["chemin"])
        if outcome is not None:
            entry["classeur_erreurs"] = display_name(str(outcome.path)) if outcome.path else None
            if outcome.probleme:
                entry["classeur_erreurs_probleme"] = outcome.probleme
    payload["classeurs_erreurs"] = [display_name(str(o.path)) for o in written.values() if o.path]
    return payload


def _date(d: Any) -> str:
    return d.strftime("%d/%m/%Y") if d is not None else "—"


def _render(
    files: list[FileResult], written: dict[Path, Outcome], *, verb: str, names: dict[str, str] | None = None
) -> None:
    """The summary table, then every issue of every file, grouped by file (structure apart from cells)."""
    from cvg_pipeline.fr import pluriel

    out = _Out()
    nothing = f"Aucun classeur à {'vérifier' if verb == 'vérifié' else 'intégrer'}"
    if not files:
        out.line(f"{nothing} : aucun fichier trouvé.")
        return
    if names is None:
        names = _territoire_names() if any(f.territoire for f in files) else {}
    styles = {"rejeté": "bold red", "non enregistré": "bold red", "ignoré": "dim", "déjà intégré": "dim"}
    rows = [
        [
            f.fichier,
            f.structure or "—",
            names.get(f.territoire or "", f.territoire or "—"),
            _date(f.date_arrete),
            "—" if f.lignes is None else str(f.lignes),
            f.statut,
            str(len(f.errors)),
            str(len(f.warnings)),
        ]
        for f in files
    ]
    headers = [
        "Fichier",
        "Structure",
        "Territoire",
        "Date d'arrêté",
        "Lignes",
        "Statut",
        "Erreurs",
        "Avertissements",
    ]
    out.lines(_table(headers, rows, right={4, 6, 7}, style=lambda r, c: styles.get(rows[r][c]) if c == 5 else None))
    for f in files:
        if f.issues:
            _render_file_issues(out, f)
    rejected = sum(1 for f in files if f.statut == "rejeté")
    unsaved = sum(1 for f in files if f.statut == "non enregistré")  # the store failed: message on stderr
    out.line()
    if rejected:
        out.line(
            (pluriel(rejected, "fichier refusé", "fichiers refusés"), "bold red"),
            " : rien n'en a été enregistré. Corrigez les erreurs ci-dessus et renvoyez le fichier.",
        )
    if unsaved:
        out.line(
            (pluriel(unsaved, "fichier valide non enregistré", "fichiers valides non enregistrés"), "bold red"),
            " : l'enregistrement s'est arrêté (voir l'erreur ci-dessous).",
        )
    if not any(f.statut != "ignoré" for f in files):  # only lock files, notes…: nothing was checked (exit 1)
        out.line((nothing, "bold red"), " : aucun des fichiers trouvés n'est un classeur de reporting (voir ci-dessus).")
    elif not rejected and not unsaved:
        out.line(
            "Tous les fichiers sont valides." if verb == "vérifié"
            else f"Tous les fichiers sont {verb}s ou déjà présents."
        )
    for outcome in written.values():
        if outcome.path is not None:
            out.line(f"Classeur d'erreurs à renvoyer à l'ACI : {display_name(str(outcome.path))}")
        else:
            out.line(
                (f"Classeur d'erreurs de « {display_name(outcome.source.name)} » non écrit", "red"),
                f" : {display_name(outcome.probleme or '')}",
            )


def _territoire_names() -> dict[str, str]:
    from cvg_pipeline.schema_file import territoire_names

    return territoire_names()


def _render_file_issues(out: _Out, f: FileResult) -> None:
    from collections import Counter

    from cvg_pipeline.errors import scope_of
    from cvg_pipeline.fr import pluriel

    errors, warnings = f.errors, f.warnings
    out.line()
    head: list[Segment] = [(f.fichier, "bold"), f" — {f.statut}"]
    if errors:
        head.append(f" : {pluriel(len(errors), 'erreur')}")
    out.line(*head)
    structural = [i for i in errors if scope_of(i.code) in ("fichier", "structure")]
    cells = [i for i in errors if scope_of(i.code) not in ("fichier", "structure")]
    if structural:
        out.line("  Structure du fichier :")
        _print_issues(out, structural)
    if cells:
        counts = Counter(i.code for i in cells)
        summary = ", ".join(f"{code} × {n}" for code, n in counts.most_common())
        out.line(f"  Contenu ({summary}) :")
        _print_issues(out, cells)
    if warnings:
        out.line("  Avertissements :")
        _print_issues(out, warnings)


def _print_issues(out: _Out, issues: list[Issue]) -> None:
    out.lines(
        [[f"    - {i.message}{f' [{i.lettre}{i.ligne}]' if i.lettre and i.ligne else ''} ({i.code})"] for i in issues]
    )


def _history_json(row: dict[str, Any]) -> dict[str, Any]:
    """One line of `cvg historique --json` (README): a stored snapshot (`statut` « intégré ») or a refusal
    (`statut` « refusé », `lignes` null, `codes` {code: count})."""
    import json

    return {
        "fichier": row["fichier"],
        "structure": row["nom"],
        "siret": row["siret"],
        "territoire": row["territoire"],
        "date_arrete": row["date_arrete"].isoformat() if row["date_arrete"] else None,
        "lignes": row["nb_lignes"],
        "recu_le": row["ingere_le"].isoformat(timespec="seconds"),
        "statut": row["statut"],
        "avertissements": json.loads(row["avertissements"]) if row["avertissements"] else {},
        "codes": json.loads(row["codes"]) if row["codes"] else None,
    }


def _render_history(rows: list[dict[str, Any]]) -> None:
    out = _Out()
    if not rows:
        out.line("Aucun fichier intégré ni refusé.")
        return
    import json

    names = _territoire_names()
    headers = ["Fichier", "Structure", "SIRET", "Territoire", "Date d'arrêté", "Lignes", "Reçu le", "Statut"]
    table = [
        [
            r["fichier"],
            r["nom"] or "—",
            r["siret"] or "—",
            names.get(r["territoire"], r["territoire"]) if r["territoire"] else "—",
            _date(r["date_arrete"]),
            "—" if r["nb_lignes"] is None else str(r["nb_lignes"]),
            r["ingere_le"].strftime("%d/%m/%Y %H:%M"),
            r["statut"]
            if r["codes"] is None
            else f"{r['statut']} ({', '.join(f'{c} × {n}' for c, n in json.loads(r['codes']).items())})",
        ]
        for r in rows
    ]
    refused = {k for k, r in enumerate(rows) if r["codes"] is not None}
    out.lines(_table(headers, table, right={5}, style=lambda r, c: "red" if c == 7 and r in refused else None))


def _table(
    headers: list[str],
    rows: list[list[str]],
    *,
    right: frozenset[int] | set[int] = frozenset(),
    style: Callable[[int, int], str | None] | None = None,
) -> list[list[Segment]]:
    """A plain aligned table, one list of segments a line (rich's Table measures every cell: ~6 ms a row,
    too slow for the 700 files of a national batch). Widths count terminal cells (a wide character: 2)."""
    widths = [max([_cells(h)] + [_cells(r[c]) for r in rows]) for c, h in enumerate(headers)]

    def cell(text: str, c: int) -> str:
        pad = " " * (widths[c] - _cells(text))
        return pad + text if c in right else text + pad

    out: list[list[Segment]] = [[("  ".join(cell(h, c) for c, h in enumerate(headers)).rstrip(), "bold")]]
    out.append(["  ".join("─" * w for w in widths)])
    for r, row in enumerate(rows):
        line: list[Segment] = []
        for c, text in enumerate(row):
            if c:
                line.append("  ")
            st = style(r, c) if style else None
            line.append((cell(text, c), st) if st else cell(text, c))
        out.append(line)
    return out


def _cells(text: str) -> int:
    """Terminal cells of `text`: a combining accent takes none, an East Asian wide character two. Below
    U+0300 (Latin letters and their precomposed accented forms, « ») every character takes one; other
    texts (with — or ’, say) are measured once and remembered."""
    return len(text) if text.isascii() or max(text) < "\u0300" else _wide_cells(text)


@cache  # the same names and statuses come back on every line
def _wide_cells(text: str) -> int:
    import unicodedata

    return sum(
        0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text
    )
