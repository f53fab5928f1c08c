"""`cvg ingest`, `cvg verifier`, `cvg historique`: bring the ACI workbooks in, check them, list the snapshots.

Thin commands: options are parsed here, the work is done by `cvg_pipeline.ingest.run` (imported inside the
functions, with polars, duckdb and pandera behind it, so `cvg --help` stays instant), and the result is
rendered here: a rich progress bar on stderr, the table and the errors on stdout, or one JSON object with
`--json`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cvg_pipeline.commands.common import StoreOption, WaitOption, echo, fail, guarded
from cvg_pipeline.commands.ingest_display import history_json, render, render_history
from cvg_pipeline.read.model import display_name

if TYPE_CHECKING:

    from cvg_pipeline.ingest.results import FileResult, Progress
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
            result = ingest_paths(chemins, store_path, progress=progress, wait=attente)
        try:
            written = _error_workbooks(result.files, erreurs, default=store_path.absolute().parent / "erreurs", inputs=chemins)
            if json_output:
                _echo_json(_with_workbooks(result.to_dict(), written))
            else:
                render(result.files, written, verb="intégré", names=result.territoire_names, quiet=quiet)
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
            render(files, written, verb="vérifié", quiet=quiet)
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

        rows = snapshot_history(resolve_store_path(store), territoire=territoire, wait=attente)
        if json_output:
            _echo_json({"version": 1, "fichiers": [history_json(r) for r in rows]})
        else:
            render_history(rows)

    guarded(run)


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
