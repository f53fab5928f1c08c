"""`cvg ingest`, `cvg verifier`, `cvg historique`: bring the ACI workbooks in, check them, list the snapshots.

Thin commands: options are parsed here, the work is done by `cvg_pipeline.ingest.run` (imported inside the
functions, with polars, duckdb and pandera behind it, so `cvg --help` stays instant), and the result is
rendered here: a rich progress bar on stderr, the table and the errors on stdout, or one JSON object with
`--json`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cvg_pipeline.commands.common import StoreOption, WaitOption, echo, fail, guarded
from cvg_pipeline.read.model import display_name

if TYPE_CHECKING:
    from rich.console import Console

    from cvg_pipeline.check.errors import Issue
    from cvg_pipeline.ingest.run import FileResult, Progress
    from cvg_pipeline.workbooks.annotate import Outcome

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

QuietOption = Annotated[
    bool,
    typer.Option(
        "--quiet", "-q",
        help="N'affiche que la dernière ligne (le bilan) : ni progression, ni tableau, ni détail des erreurs "
        "(elles restent dans les classeurs d'erreurs et avec --json).",
    ),
]

STAGES = {
    "depart": "Recherche des classeurs",
    "lecture": "Lecture des classeurs",
    "validation": "Contrôle des règles sur toutes les lignes",
    "enregistrement": "Enregistrement dans la base",
}


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
    quiet: QuietOption = False,
) -> None:
    """Vérifie et intègre les fichiers de reporting dans la base (un fichier refusé ne change rien).

    Chaque fichier refusé reçoit un classeur d'erreurs à renvoyer à l'ACI (dans « erreurs/ » à côté de la
    base, ou --erreurs DOSSIER) ; la dernière ligne compte ce que chaque fichier est devenu.

    \b
    Exemples :
      cvg ingest recus/2024-03/
      cvg ingest --erreurs a-renvoyer/ recus/2024-03/
      cvg ingest --json recus/2024-03/ > integration.json
    """

    def run() -> int:
        from cvg_pipeline.ingest.run import ingest_paths
        from cvg_pipeline.store.db import resolve_store_path

        store_path = resolve_store_path(store)
        with _progress(enabled=not quiet and not json_output) as progress:
            result = ingest_paths(chemins, store_path, progress=progress)
        try:
            written = _error_workbooks(result.files, erreurs, default=store_path.absolute().parent / "erreurs", inputs=chemins)
            if json_output:
                _echo_json(_with_workbooks(result.to_dict(), written))
            else:
                _render(result.files, written, verb="intégré", names=result.territoire_names, quiet=quiet)
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
    quiet: QuietOption = False,
) -> None:
    """Vérifie des fichiers comme « cvg ingest », sans rien enregistrer (à lancer avant l'envoi).

    Sans --erreurs, le classeur d'erreurs d'un fichier refusé est écrit dans le dossier « erreurs » du dossier
    courant (jamais à côté du fichier vérifié, ni dans un dossier à lire). Aucune base n'est nécessaire.

    \b
    Exemples :
      cvg verifier mon-fichier.xlsx
      cvg verifier --erreurs retours/ envois/
    """

    def run() -> int:
        from cvg_pipeline.ingest.run import IngestResult, verify_paths

        many = len(fichiers) > 1 or any(p.is_dir() for p in fichiers)
        with _progress(enabled=many and not quiet and not json_output) as progress:
            files = verify_paths(fichiers, progress=progress)
        result = IngestResult(files)
        written = _error_workbooks(files, erreurs, default=Path("erreurs").absolute(), inputs=fichiers)
        if json_output:
            _echo_json(_with_workbooks(result.to_dict(), written))
        else:
            _render(files, written, verb="vérifié", quiet=quiet)
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
        from cvg_pipeline.ingest.run import snapshot_history
        from cvg_pipeline.store.db import resolve_store_path

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
    """stdout: rich on a terminal, fitted to its width (tables fitted by `_table`, text wrapped on words);
    plain full lines otherwise (a file, a pipe, a script)."""

    def __init__(self) -> None:
        self.console: Console | None = None
        self.width: int | None = None
        if sys.stdout.isatty():
            from rich.console import Console

            self.console = Console(highlight=False, soft_wrap=False)
            self.width = self.console.width

    def wrapped(self, text: str, indent: int = 0) -> list[str]:
        """`text` cut on words to the terminal's width (continuation lines indented by `indent`); whole
        when not on a terminal."""
        if self.width is None or _cells(text) <= self.width:
            return [text]
        import textwrap

        lead = len(text) - len(text.lstrip(" "))
        glued = text.replace("« ", "«\u00a0").replace(" »", "\u00a0»")  # never « at a line's end or » at a start
        lines = textwrap.wrap(
            glued, width=self.width, subsequent_indent=" " * (lead + indent), break_long_words=True,
            break_on_hyphens=False,
        ) or [glued]
        return [line.replace("\u00a0", " ") for line in lines]

    def line(self, *segments: Segment) -> None:
        self.lines([list(segments)])

    def lines(self, rows: list[list[Segment]]) -> None:
        if self.console is None:
            sys.stdout.write(
                "".join("".join(x if isinstance(x, str) else x[0] for x in row).rstrip() + "\n" for row in rows)
            )
            return
        from rich.text import Text

        for row in rows:
            text = Text.assemble(*row)
            text.rstrip()
            self.console.print(text)


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
            from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self.bar = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[compte]}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self.bar.start()
            # something from the first second: finding and hashing the files comes before any count
            self.tasks["depart"] = self.bar.add_task(STAGES["depart"], total=None, compte="")
        return self.update

    def update(self, stage: str, done: int, total: int) -> None:
        if self.bar is None:
            return
        if stage not in self.tasks:
            for task in self.tasks.values():  # the stages follow each other: the earlier ones are done
                self.bar.update(task, total=1, completed=1)
                self.bar.stop_task(task)
            self.tasks[stage] = self.bar.add_task(STAGES.get(stage, stage), total=total, compte="")
        # « 175/400 classeurs » for the stages that count files; a one-step stage just spins with its name
        compte = f"{done}/{total} classeurs" if total > 1 else ""
        self.bar.update(self.tasks[stage], completed=done, total=total, compte=compte)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _error_workbooks(
    files: list[FileResult], dest: Path | None, *, default: Path, inputs: list[Path]
) -> dict[Path, Outcome]:
    """The annotated copy of every refused file (workbooks/annotate.py), into `dest` (`--erreurs`) or `default`.

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
    from cvg_pipeline.workbooks.annotate import Outcome, write_error_workbooks

    if dest is None:
        inside = _input_folder_holding(default, inputs)
        if inside is not None:
            probleme = (
                f"le dossier par défaut « {default} » est dans le dossier à lire « {inside} » : "
                "indiquez où écrire les classeurs d'erreurs avec --erreurs DOSSIER"
            )
            return {f.path: Outcome(f.path, None, probleme) for f in refused}
        dest = default
    from cvg_pipeline.schema.load import load_schema

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
    files: list[FileResult],
    written: dict[Path, Outcome],
    *,
    verb: str,
    names: dict[str, str] | None = None,
    quiet: bool = False,
) -> None:
    """The summary table, then every issue of every file, grouped by file (structure apart from cells), then
    the error workbooks and the counted ending; with `quiet`, the ending only."""
    if quiet:
        if files:
            _print_ending(_Out(), files, written, verb=verb)
        return

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
    out.lines(_table(
        headers, rows, right={4, 6, 7}, style=lambda r, c: styles.get(rows[r][c]) if c == 5 else None,
        width=out.width, shrink=(1, 2, 0), drop=(7, 4, 2, 3, 1),
    ))
    for f in files:
        if f.issues:
            _render_file_issues(out, f)
    out.line()
    for outcome in written.values():
        if outcome.path is not None:
            lead = "Classeur d'erreurs à ouvrir" if verb == "vérifié" else "Classeur d'erreurs à renvoyer à l'ACI"
            out.line(f"{lead} : {display_name(str(outcome.path))}")
        else:
            out.line(
                (f"Classeur d'erreurs de « {display_name(outcome.source.name)} » non écrit", "red"),
                f" : {display_name(outcome.probleme or '')}",
            )
    if not any(f.statut != "ignoré" for f in files):  # only lock files, notes…: nothing was checked (exit 1)
        out.line((nothing, "bold red"), " : aucun des fichiers trouvés n'est un classeur de reporting (voir ci-dessus).")
        return
    _print_ending(out, files, written, verb=verb)


def _print_ending(out: _Out, files: list[FileResult], written: dict[Path, Outcome], *, verb: str) -> None:
    """The last line: to the ACI when `cvg verifier` checked one file, else every file counted."""
    checked = [f for f in files if f.statut != "ignoré"]
    if verb == "vérifié" and len(checked) == 1:
        out.lines([[line] for line in out.wrapped(_to_the_aci(checked[0], written))])
        return
    ending, bad = counted_ending(files, written, verb=verb)
    out.lines([[(line, "bold red") if bad else line] for line in out.wrapped(ending)])


def counted_ending(files: list[FileResult], written: dict[Path, Outcome], *, verb: str) -> tuple[str, bool]:
    """The last line of `cvg ingest` / `cvg verifier`: every file counted by what became of it, and where the
    error workbooks are (« 73 fichiers : 70 intégrés (dont 2 remplacés), 3 refusés — classeurs d'erreurs dans
    erreurs/ »); True when some file was refused or not stored."""
    from collections import Counter

    from cvg_pipeline.fr import pluriel

    n = Counter(f.statut for f in files)
    parts: list[str] = []
    stored = n["intégré"] + n["remplacé"] + n["historique"]
    if verb == "vérifié":
        if n["valide"]:
            parts.append(pluriel(n["valide"], "valide"))
    elif stored:
        detail = [pluriel(n[s], label, plural) for s, label, plural in (
            ("remplacé", "remplacé", "remplacés"), ("historique", "gardé comme historique", "gardés comme historique"),
        ) if n[s]]
        parts.append(pluriel(stored, "intégré") + (f" (dont {' et '.join(detail)})" if detail else ""))
    for statut, singular, plural in (
        ("déjà intégré", "déjà présent", "déjà présents"),
        ("rejeté", "refusé", "refusés"),
        ("non enregistré", "valide non enregistré", "valides non enregistrés"),
        ("ignoré", "ignoré", "ignorés"),
    ):
        if n[statut]:
            parts.append(pluriel(n[statut], singular, plural))
    text = f"{pluriel(len(files), 'fichier')} : {', '.join(parts) or 'aucun'}"
    folders = sorted({str(o.path.parent) for o in written.values() if o.path is not None})
    if folders:
        text += f" — classeurs d'erreurs dans {', '.join(display_name(f) + '/' for f in folders)}"
    if n["rejeté"] and verb != "vérifié":
        text += " ; rien d'un fichier refusé n'a été enregistré"
    return text + ".", bool(n["rejeté"] or n["non enregistré"])


def _to_the_aci(f: FileResult, written: dict[Path, Outcome]) -> str:
    """`cvg verifier` on one file speaks to the ACI that runs it on its own file."""
    from cvg_pipeline.fr import pluriel

    if f.statut == "valide":
        warnings = f" ({pluriel(len(f.warnings), 'avertissement')} à lire ci-dessus)" if f.warnings else ""
        return f"Votre fichier est valide{warnings} : vous pouvez l'envoyer."
    outcome = written.get(f.path)
    text = f"Votre fichier contient {pluriel(len(f.errors), 'erreur')}"
    if outcome is not None and outcome.path is not None:
        return (
            text + f" : ouvrez {display_name(str(outcome.path))} (les cellules en erreur y sont surlignées et "
            "commentées), corrigez votre fichier d'origine, puis vérifiez-le à nouveau."
        )
    return text + " (détail ci-dessus) : corrigez-le, puis vérifiez-le à nouveau."


def _territoire_names() -> dict[str, str]:
    from cvg_pipeline.schema.file import territoire_names

    return territoire_names()


def _render_file_issues(out: _Out, f: FileResult) -> None:
    from collections import Counter

    from cvg_pipeline.check.errors import scope_of
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
    out.lines([
        [line]
        for i in issues
        for line in out.wrapped(f"    - {i.message}{f' [{i.lettre}{i.ligne}]' if i.lettre and i.ligne else ''} ({i.code})", 2)
    ])


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
    out.lines(_table(
        headers, table, right={5}, style=lambda r, c: "red" if c == 7 and r in refused else None,
        width=out.width, shrink=(1, 0, 3, 7), drop=(2, 6, 5, 3),
    ))


# Fitting a table to a terminal: shorter headers first, then long texts cut with « … » (down to MIN_TEXT
# cells), then whole columns left out, least useful first (`drop`, by index).
SHORT_HEADERS = {"Date d'arrêté": "Arrêté", "Avertissements": "Avert.", "Erreurs": "Err.", "Territoire": "Terr.",
                 "Structure": "Struct.", "Lignes": "Lig.", "Complétude": "Compl."}
MIN_TEXT = 10


def _fit(
    headers: list[str], rows: list[list[str]], width: int, *, shrink: Sequence[int], drop: Sequence[int]
) -> tuple[list[str], list[list[str]], list[int]]:
    """The columns to show (their indexes), headers and cells, so that each line takes at most `width`
    terminal cells."""
    keep = list(range(len(headers)))
    heads = list(headers)

    def natural(c: int, head: str) -> int:
        return max([_cells(head)] + [_cells(r[c]) for r in rows])

    def total(widths: dict[int, int]) -> int:
        return sum(widths.values()) + 2 * (len(widths) - 1)

    widths = {c: natural(c, heads[c]) for c in keep}
    if total(widths) > width:
        heads = [SHORT_HEADERS.get(h, h) for h in heads]
        widths = {c: natural(c, heads[c]) for c in keep}
    dropping = [c for c in drop]
    while True:
        over = total(widths) - width
        while over > 0:  # one cell at a time off the widest text column still above its floor: balanced cuts
            room = [c for c in shrink if c in widths and widths[c] > max(MIN_TEXT, _cells(heads[c]))]
            if not room:
                break
            widest = max(room, key=lambda c: widths[c])
            widths[widest] -= 1
            over -= 1
        if over <= 0 or not dropping:
            break
        gone = dropping.pop(0)
        keep.remove(gone)
        widths = {c: natural(c, heads[c]) for c in keep}
    cells = [[_clip(r[c], widths[c]) for c in keep] for r in rows]
    return [_clip(heads[c], widths[c]) for c in keep], cells, keep


def _clip(text: str, width: int) -> str:
    """`text` cut to `width` terminal cells, ending with « … » when cut."""
    if _cells(text) <= width:
        return text
    out = ""
    for ch in text:
        if _cells(out + ch) > width - 1:
            break
        out += ch
    return out.rstrip() + "…"


def _table(
    headers: list[str],
    rows: list[list[str]],
    *,
    right: frozenset[int] | set[int] = frozenset(),
    style: Callable[[int, int], str | None] | None = None,
    width: int | None = None,
    shrink: Sequence[int] = (),
    drop: Sequence[int] = (),
) -> list[list[Segment]]:
    """A plain aligned table, one list of segments a line (rich's Table measures every cell: ~6 ms a row,
    too slow for the 700 files of a national batch). Widths count terminal cells (a wide character: 2).
    With `width` (a terminal), the table is fitted to it (`_fit`); without, lines are whole."""
    if width is not None:
        headers, rows, kept = _fit(headers, rows, width, shrink=shrink, drop=drop)
        right = {n for n, c in enumerate(kept) if c in right}
        if style is not None:
            inner = style
            style = lambda r, n: inner(r, kept[n])  # noqa: E731 - the caller's column numbers
    widths = [max([_cells(h)] + [_cells(r[c]) for r in rows]) for c, h in enumerate(headers)]

    last = len(headers) - 1

    def cell(text: str, c: int) -> str:
        pad = " " * (widths[c] - _cells(text))
        return pad + text if c in right else text if c == last else text + pad  # no trailing blanks

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
