"""What `cvg ingest`, `cvg verifier` and `cvg historique` print: the table of files, their issues, the error
workbooks and the counted ending (`render`), the history (`render_history`), and a table fitted to the
terminal (`table`), shared with `cvg suivi`."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cvg_pipeline.read.model import display_name

if TYPE_CHECKING:
    from rich.console import Console

    from cvg_pipeline.check.errors import Issue
    from cvg_pipeline.ingest.results import FileResult
    from cvg_pipeline.workbooks.annotate import Outcome

# -- rendering ----------------------------------------------------------------------------------------------
# Lines are lists of segments, each a text or (text, rich style): user text is never parsed as markup, so it
# needs no escaping. On a terminal they go through rich (colours); to a file or a pipe (a script, a test,
# `> journal.txt`) they are written as plain text without importing rich (~50 ms of a run that is all
# `déjà intégré`).

Segment = str | tuple[str, str]



class Out:
    """stdout: rich on a terminal, fitted to its width (tables fitted by `table`, text wrapped on words);
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



def date_text(d: Any) -> str:
    return d.strftime("%d/%m/%Y") if d is not None else "—"


def render(
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
            _print_ending(Out(), files, written, verb=verb)
        return

    out = Out()
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
            date_text(f.date_arrete),
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
    out.lines(table(
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


def _print_ending(out: Out, files: list[FileResult], written: dict[Path, Outcome], *, verb: str) -> None:
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


def _render_file_issues(out: Out, f: FileResult) -> None:
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


def _print_issues(out: Out, issues: list[Issue]) -> None:
    out.lines([
        [line]
        for i in issues
        for line in out.wrapped(f"    - {i.message}{f' [{i.lettre}{i.ligne}]' if i.lettre and i.ligne else ''} ({i.code})", 2)
    ])


def history_json(row: dict[str, Any]) -> dict[str, Any]:
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


def render_history(rows: list[dict[str, Any]]) -> None:
    out = Out()
    if not rows:
        out.line("Aucun fichier intégré ni refusé.")
        return
    import json

    names = _territoire_names()
    headers = ["Fichier", "Structure", "SIRET", "Territoire", "Date d'arrêté", "Lignes", "Reçu le", "Statut"]
    cells = [
        [
            r["fichier"],
            r["nom"] or "—",
            r["siret"] or "—",
            names.get(r["territoire"], r["territoire"]) if r["territoire"] else "—",
            date_text(r["date_arrete"]),
            "—" if r["nb_lignes"] is None else str(r["nb_lignes"]),
            r["ingere_le"].strftime("%d/%m/%Y %H:%M"),
            r["statut"]
            if r["codes"] is None
            else f"{r['statut']} ({', '.join(f'{c} × {n}' for c, n in json.loads(r['codes']).items())})",
        ]
        for r in rows
    ]
    refused = {k for k, r in enumerate(rows) if r["codes"] is not None}
    out.lines(table(
        headers, cells, right={5}, style=lambda r, c: "red" if c == 7 and r in refused else None,
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


def table(
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
