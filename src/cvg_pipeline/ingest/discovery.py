"""Discovery: which files an ingest (or a check) reads, from the files and folders given.

Files and folders are walked recursively (`discover`). What is clearly not a reporting workbook (hidden files
and folders, Excel lock files `~$…`, documents, images, cvg's own outputs) is skipped and named once with a
`fichier-ignore` warning (status `ignoré`); anything else is read, and the reader refuses what is not a
workbook it reads, naming its real format. Only regular files within the size limit are read: FIFOs,
devices, broken links and unreadable folders are refused by name. Each file is shown by its path relative to
the folder given (`FileResult.fichier`, valid UTF-8). A directory given twice, a file reached by two paths
and a symlink loop are visited once.
"""

from __future__ import annotations

import os
import stat
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from cvg_pipeline.check.errors import Code, UsageError, issue
from cvg_pipeline.fr import erreur_systeme
from cvg_pipeline.ingest.results import IGNORE, REJETE, FileResult
from cvg_pipeline.read.model import SPREADSHEET_EXTENSIONS, display_name, is_error_workbook_name


@dataclass(frozen=True)
class Candidate:
    path: Path
    explicit: bool  # named on the command line (not found in a folder)
    # As shown, stored and used to name its error workbook: the path relative to the folder given (the name
    # alone for a file named on the command line, or the path as given when two would look alike), in valid
    # UTF-8 (model.display_name).
    name: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", display_name(self.path.name))


def discover(paths: Iterable[Path | str]) -> tuple[list[Candidate], list[FileResult]]:
    """Files to read, in a stable order, and the results of what is not read: skipped (`ignoré`, with a
    `fichier-ignore` note naming it once) or refused at once (`rejeté`).

    Folders are walked recursively, following symlinks but visiting each real directory once (a symlink
    loop or a directory given twice cannot duplicate nor hang). Each real file is considered once; a file
    named on the command line always is. Only regular files are read, within the size limit: a FIFO, a
    device (a symlink to /dev/zero), a socket, a broken symlink, a file over `safety.MAX_FILE_BYTES` and a
    folder that cannot be listed are refused, named (never read: they could hang or exhaust the run).

    In a folder, a file is skipped only when it is clearly not a reporting workbook (`_skip_reason`: hidden
    files and folders, Excel lock files, documents and images, cvg's own outputs); any other file is read,
    and the reader refuses what is not a workbook it reads, naming its real format (.xlsb, .numbers, .csv…).
    """
    from cvg_pipeline.read.precheck import MAX_FILE_BYTES, too_big_file

    seen_files: set[tuple[int, int]] = set()
    seen_dirs: set[tuple[int, int]] = set()
    entries: list[tuple[Path, bool, str, FileResult | None]] = []  # path, explicit, shown name, result if not read

    def add(path: Path, explicit: bool, shown: str, statut: str, code: Code, detail: str) -> None:
        entries.append((path, explicit, shown, FileResult(path, shown, statut, issues=[issue(code, shown, detail=detail)])))

    def add_file(path: Path, explicit: bool, shown: str) -> None:
        try:
            st = os.stat(path)
        except OSError as exc:
            broken = path.is_symlink() and isinstance(exc, FileNotFoundError)
            add(path, explicit, shown, REJETE, "fichier-illisible",
                "lien symbolique vers un fichier qui n'existe pas" if broken else erreur_systeme(exc))
            return
        if not stat.S_ISREG(st.st_mode):  # each path named, even two links to one device
            add(path, explicit, shown, REJETE, "fichier-illisible",
                f"c'est {_special_kind(st.st_mode)}, pas un fichier ordinaire : seuls les fichiers ordinaires sont lus")
            return
        key = (st.st_dev, st.st_ino)
        if key in seen_files:
            return
        seen_files.add(key)
        reason = _skip_reason(path, explicit)
        if reason is not None:
            add(path, explicit, shown, IGNORE, "fichier-ignore", reason)
        elif st.st_size > MAX_FILE_BYTES:  # never hashed nor read
            entries.append((path, explicit, shown, FileResult(path, shown, REJETE, issues=[too_big_file(shown, st.st_size)])))
        else:
            entries.append((path, explicit, shown, None))

    def unreadable_folder(error: OSError) -> None:
        folder = Path(error.filename) if error.filename is not None else root
        add(folder, False, _relative(root, folder, "/"), REJETE, "dossier-illisible", erreur_systeme(error))

    for raw in paths:
        root = Path(raw)
        if not root.exists() and not root.is_symlink():
            raise UsageError(f"« {display_name(str(root))} » n'existe pas (ni fichier ni dossier).")
        if not root.is_dir():  # a file, and anything that is not a folder (a FIFO, a device, a broken link)
            add_file(root, True, display_name(root.name))
            continue
        for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=unreadable_folder):
            folder = Path(dirpath)
            try:
                st = os.stat(dirpath)
            except OSError as exc:  # gone since it was listed
                add(folder, False, _relative(root, folder, "/"), REJETE, "dossier-illisible", erreur_systeme(exc))
                dirnames[:] = []
                continue
            key = (st.st_dev, st.st_ino)
            if key in seen_dirs:
                dirnames[:] = []
                continue
            seen_dirs.add(key)
            # hidden folders are not walked (`.git/`, `.Trash/`…), each named once
            for d in sorted(d for d in dirnames if d.startswith(".")):
                add(folder / d, False, _relative(root, folder / d, "/"), IGNORE, "fichier-ignore",
                    "dossier caché (son nom commence par un point) : il n'est pas parcouru")
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                add_file(folder / name, False, _relative(root, folder / name))
    found: list[Candidate] = []
    skipped: list[FileResult] = []
    # Two entries shown alike (`aci.xlsx` named twice from two folders): each shown by its path as given.
    shown_count = Counter(e[2] for e in entries)
    for path, explicit, shown, result in entries:
        if shown_count[shown] > 1:
            shown = display_name(str(path))
            if result is not None:
                result = replace(result, fichier=shown, issues=[replace(i, fichier=shown) for i in result.issues])
        if result is None:
            found.append(Candidate(path, explicit, shown))
        else:
            skipped.append(result)
    return found, skipped


def _relative(root: Path, path: Path, end: str = "") -> str:
    """`path` as shown: relative to the folder given (`lyon/aci.xlsx`), `/`-separated, valid UTF-8."""
    try:
        rel = path.relative_to(root).as_posix()
    except ValueError:
        rel = path.name
    return display_name(root.name if rel == "." else rel) + end


def _special_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "un tube nommé (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "un périphérique (comme /dev/zero)"
    if stat.S_ISSOCK(mode):
        return "une socket"
    if stat.S_ISDIR(mode):
        return "un dossier"
    return "un fichier spécial"


# Files that are clearly not a reporting workbook, skipped in a folder with a note (`ignoré`): by extension,
# what they are. Anything else found in a folder is read, and refused if it is not a workbook cvg reads (a
# .csv, .xlsb, .numbers, .fods, .zip, a file without extension…): an ACI's month is never left out unseen.
_NOT_REPORTING: dict[str, str] = {
    **dict.fromkeys((".pdf",), "document PDF"),
    **dict.fromkeys((".doc", ".docx", ".odt", ".rtf", ".pages"), "document de traitement de texte"),
    **dict.fromkeys((".ppt", ".pptx", ".odp", ".key"), "présentation"),
    **dict.fromkeys((".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".heic", ".webp", ".svg"), "image"),
    **dict.fromkeys((".eml", ".msg"), "courriel"),
    **dict.fromkeys((".txt", ".md", ".log"), "texte (note, journal)"),
    # cvg's own outputs: the store and its files, --json results, reports (`rapport-*.md` and `.html`)
    **dict.fromkeys((".duckdb", ".wal", ".lock", ".json"), "base, verrou ou résultat JSON de cvg"),
}


def _skip_reason(path: Path, explicit: bool) -> str | None:
    name = path.name
    if name.startswith("~$"):
        return "fichier temporaire d'Excel (~$), créé pendant qu'un classeur est ouvert"
    if explicit:
        return None
    if name.startswith("."):  # `.DS_Store`, macOS `._aci.xlsx` copies (not workbooks despite their name)
        return "fichier caché (son nom commence par un point)"
    suffix = path.suffix.lower()
    if name.lower().startswith("rapport-") and suffix in (".html", ".md"):
        return "rapport écrit par cvg"
    if suffix in _NOT_REPORTING and not (suffix == ".txt" and _tabular_text(path)):
        return f"{_NOT_REPORTING[suffix]}, pas un classeur"
    if is_error_workbook_name(name):
        from cvg_pipeline.workbooks.annotate import is_untouched_error_workbook

        if is_untouched_error_workbook(path):
            return "classeur d'erreurs écrit par cvg, pas un fichier de reporting"
    return None


def _tabular_text(path: Path) -> bool:
    """A .txt that is a table (Excel's « Texte (séparateur : tabulation) » export, a CSV named .txt): read, so
    that the reader refuses it naming its format, instead of being skipped as a note."""
    from cvg_pipeline.read.precheck import text_format

    try:
        with path.open("rb") as fh:
            head = fh.read(4096)
    except OSError:
        return True  # the reader reports why it cannot be read
    return (text_format(head) or "").startswith("un fichier texte (CSV")


def no_workbook_message(paths: Iterable[Path | str], skipped: Sequence[FileResult]) -> str:
    where = ", ".join(f"« {p} »" for p in paths)
    ignored = f" ({len(skipped)} fichier(s) ignoré(s) : pas des classeurs de reporting)" if skipped else ""
    kinds = ", ".join(SPREADSHEET_EXTENSIONS)
    return f"aucun classeur ({kinds}) trouvé dans {where}{ignored} : rien n'a été lu ni enregistré."

