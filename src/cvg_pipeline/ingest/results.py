"""What an ingest (or a check) says about each file: the statuses, `FileResult`, `IngestResult`, and how a
parsed file becomes its result. Library code: nothing is printed here (commands/ingest_display.py shows them)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cvg_pipeline.check.errors import CvgError, Issue
from cvg_pipeline.read.model import HasIssues, display_name
from cvg_pipeline.store.snapshots import DEJA_INTEGRE as DEJA_INTEGRE
from cvg_pipeline.store.snapshots import HISTORIQUE as HISTORIQUE
from cvg_pipeline.store.snapshots import INTEGRE as INTEGRE
from cvg_pipeline.store.snapshots import REMPLACE as REMPLACE

if TYPE_CHECKING:
    from cvg_pipeline.ingest.discovery import Candidate
    from cvg_pipeline.read.model import ParsedFile

# Statuses (French, stable: they appear in the JSON result). `intégré`, `remplacé`, `historique` and `déjà
# intégré` are the store's decisions (store/snapshots.py).
REJETE = "rejeté"
NON_ENREGISTRE = "non enregistré"  # valid, but the store could not take it (full disk, interrupt): see IngestResult
IGNORE = "ignoré"
VERIFIE = "valide"  # `cvg verifier`: the file would be accepted
ACCEPTED = frozenset({INTEGRE, REMPLACE, HISTORIQUE, DEJA_INTEGRE, VERIFIE, IGNORE})

# progress(stage, done, total): stage is "lecture", "validation" or "enregistrement".
Progress = Callable[[str, int, int], None]


def no_progress(stage: str, done: int, total: int) -> None:
    return None


@dataclass
class FileResult(HasIssues):
    """What happened to one file, for the table, the JSON result and the error workbooks."""

    path: Path
    fichier: str
    statut: str
    sha256: str | None = None
    structure: str | None = None  # Nom de la structure
    siret: str | None = None
    territoire: str | None = None  # slug
    date_arrete: date | None = None
    lignes: int | None = None
    issues: list[Issue] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.statut in ACCEPTED

    def to_dict(self) -> dict[str, Any]:
        return {
            "fichier": self.fichier,
            "chemin": display_name(str(self.path)),
            "statut": self.statut,
            "sha256": self.sha256,
            "structure": self.structure,
            "siret": self.siret,
            "territoire": self.territoire,
            "date_arrete": self.date_arrete.isoformat() if self.date_arrete else None,
            "lignes": self.lignes,
            "erreurs": len(self.errors),
            "avertissements": len(self.warnings),
            "problemes": [i.to_dict() for i in self.issues],
        }


@dataclass
class IngestResult:
    files: list[FileResult]
    store: Path | None = None
    territoire_names: dict[str, str] | None = None  # slug → name, when the store's index had them
    # Why storing stopped (French, for stderr and the JSON `echec`): a full disk, an interrupt. The files it
    # left out are `non enregistré`; those stored before keep their status.
    echec: str | None = None
    interrompu: bool = False  # Ctrl-C during the storing: exit 130

    @property
    def checked(self) -> bool:
        """Some file was looked at as a workbook (not only skipped ones, or none): else the run failed."""
        return any(f.statut != IGNORE for f in self.files)

    @property
    def ok(self) -> bool:
        return self.echec is None and self.checked and all(f.accepted for f in self.files)

    @property
    def exit_code(self) -> int:
        if self.interrompu:
            return 130
        return 0 if self.ok else 1

    def counts(self) -> dict[str, int]:
        return dict(Counter(f.statut for f in self.files))

    def statuses(self) -> dict[str, str]:
        """Each file's status, by its name as shown (`fichier`)."""
        return {f.fichier: f.statut for f in self.files}

    def by_name(self) -> dict[str, FileResult]:
        """Each file's result, by its name as shown (`fichier`)."""
        return {f.fichier: f for f in self.files}

    def flatten(self) -> list[tuple[str, str, str | None]]:
        """(fichier, statut, code) for each issue of each file, in order; (fichier, statut, None) for a file
        without any: the whole result in one comparable list (tests, scripts)."""
        out: list[tuple[str, str, str | None]] = []
        for f in self.files:
            out.extend([(f.fichier, f.statut, i.code) for i in f.issues] or [(f.fichier, f.statut, None)])
        return out

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "version": 1,
            "base": str(self.store) if self.store is not None else None,
            "ok": self.ok,
            "statuts": self.counts(),
            "fichiers": [f.to_dict() for f in self.files],
        }
        if self.echec is not None:
            out["echec"] = self.echec
            out["interrompu"] = self.interrompu
        return out



class Interrupted(CvgError):
    """Ctrl-C before anything was stored: nothing changed (exit 130)."""

    exit_code = 130


def result_of(pf: ParsedFile, statut: str) -> FileResult:
    s = pf.structure
    return FileResult(
        path=pf.path,
        fichier=pf.fichier,
        statut=statut,
        sha256=pf.sha256,
        structure=s.nom if s else None,
        siret=s.siret if s else None,
        territoire=s.territoire if s else None,
        date_arrete=s.date_arrete if s else None,
        lignes=pf.data.height if pf.data is not None else None,
        # the reader names the file alone: its issues get the name shown (`lyon/aci.xlsx`)
        issues=ordered([i if i.fichier == pf.fichier else replace(i, fichier=pf.fichier) for i in pf.issues]),
    )


def ordered(issues: list[Issue]) -> list[Issue]:
    """Errors first; file and structure issues before cells; then by Excel row and column."""

    def key(i: Issue) -> tuple[int, int, int, int, str]:
        letter = i.lettre or ""
        return (0 if i.is_error else 1, 0 if i.ligne is None else 1, i.ligne or 0, len(letter), letter)

    return sorted(issues, key=key)


def copy_result(result: FileResult, c: Candidate, statut: str) -> FileResult:
    """`result` for another file of the run with the same bytes: refused, with the same errors (under its own
    name); stored or not, without repeating the warnings."""
    name = c.name
    issues = [replace(i, fichier=name) for i in result.issues] if statut == REJETE else []
    return replace(result, path=c.path, fichier=name, statut=statut, issues=issues)



def in_order(
    results: list[FileResult], candidates: Sequence[Candidate], skipped: list[FileResult]
) -> list[FileResult]:
    rank = {c.path: n for n, c in enumerate(candidates)}
    not_read = {id(r) for r in skipped}  # skipped or refused by `discover`: listed first, once
    return skipped + sorted((r for r in results if id(r) not in not_read), key=lambda r: rank.get(r.path, 0))

