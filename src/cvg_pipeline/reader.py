"""Read one reporting workbook (spec §1, §3) into a `ParsedFile`: sheets found, Structure typed, Salariés normalised.

`read_workbook` never raises for bad input: an unreadable, corrupt, renamed, password-protected or empty file,
a missing sheet or header, and every bad cell become located `Issue`s (errors.py).

Reading: each sheet is loaded once by fastexcel (calamine: cached values only, formulas and macros never
run) with every cell as text (`dtypes="string"`), no header (`header_row=None`) and `skip_rows=0`, so that
frame row i is Excel row i + 1 even above the first non-empty row; leading empty columns are trimmed by
calamine, and `available_columns()[j].absolute_index` gives the real column (hence its letter).

Privacy: direct-identifier columns are dropped from the frame as soon as the header is known, before any
value is cleaned, kept or copied into a message; a full date of birth is reduced to its year in the same
step, so neither reaches `ParsedFile` (not even `raw`).
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cvg_pipeline.errors import Issue, issue
from cvg_pipeline.model import ROW_COLUMN, ParsedFile, SheetColumn, StructureInfo
from cvg_pipeline.schema import HeaderMatch, Schema, Territoire, fold

if TYPE_CHECKING:
    import polars as pl

ACCEPTED_EXTENSIONS = (".xlsx", ".xlsm", ".xls", ".ods")
_ZIP_MAGIC = b"PK\x03\x04"
_CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE compound file: .xls, or an encrypted .xlsx
_ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")


def column_letter(index: int) -> str:
    """0-based column index → Excel letters (0 → A, 25 → Z, 26 → AA)."""
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


# -- file level ----------------------------------------------------------------------------------------------
def _looks_like_text(content: bytes) -> bool:
    head = content[:4096]
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # a character cut by the 4 KiB window is fine
            try:
                head.decode("cp1252")
            except UnicodeDecodeError:
                return False
    return True


def _unreadable_detail(content: bytes) -> str:
    if content.startswith(_ZIP_MAGIC):
        return "le fichier est endommagé (archive incomplète ou corrompue) : enregistrez-le à nouveau depuis Excel"
    if content.startswith(_CFB_MAGIC):
        return "le classeur .xls est endommagé : enregistrez-le à nouveau au format .xlsx"
    if _looks_like_text(content):
        return ("c'est un fichier texte (CSV ?) et non un classeur : ouvrez-le dans Excel et enregistrez-le "
                "au format .xlsx")
    return "le contenu n'est pas celui d'un classeur Excel ou OpenDocument"


def _file_problem(path: Path, content: bytes) -> Issue | None:
    fichier = path.name
    if not content:
        return issue("fichier-vide", fichier)
    suffix = path.suffix.lower()
    if suffix not in ACCEPTED_EXTENSIONS:
        return issue("format-non-pris-en-charge", fichier, extension=path.suffix or "(sans extension)")
    if content.startswith(_CFB_MAGIC) and _ENCRYPTED_STREAM in content:
        return issue("fichier-protege", fichier)
    if not (content.startswith(_ZIP_MAGIC) or content.startswith(_CFB_MAGIC)):
        return issue("fichier-illisible", fichier, detail=_unreadable_detail(content))
    return None


def _is_fatal(exc: BaseException) -> bool:
    return isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit, MemoryError))


@dataclass
class _Sheet:
    """One sheet as text: frame row i is Excel row i + 1; `letters[j]` is the letter of frame column j."""

    name: str
    frame: pl.DataFrame
    letters: list[str]
    indices: list[int]

    @property
    def is_empty(self) -> bool:
        return self.frame.height == 0 or self.frame.width == 0


def _load(reader: Any, name: str) -> _Sheet:
    sheet = reader.load_sheet(name, header_row=None, skip_rows=0, dtypes="string", whitespace_as_null=True)
    indices = [info.absolute_index for info in sheet.available_columns()]
    frame = sheet.to_polars()
    return _Sheet(name, frame, [column_letter(i) for i in indices], indices)


def read_workbook(
    path: Path, schema: Schema, *, sha256: str | None = None, today: date | None = None
) -> ParsedFile:
    """Read, locate and normalise one workbook. Never raises for bad input: problems are `Issue`s."""
    path = Path(path)
    fichier = path.name
    try:
        content = path.read_bytes()
    except OSError as exc:
        parsed = ParsedFile(path=path, fichier=fichier, sha256=sha256 or "")
        parsed.issues.append(issue("fichier-illisible", fichier, detail=f"ouverture impossible : {exc.strerror}"))
        return parsed
    parsed = ParsedFile(path=path, fichier=fichier, sha256=sha256 or hashlib.sha256(content).hexdigest())
    problem = _file_problem(path, content)
    if problem is not None:
        parsed.issues.append(problem)
        return parsed
    import fastexcel

    try:
        reader = fastexcel.read_excel(content)
        names = list(reader.sheet_names)
    except BaseException as exc:  # calamine errors, and pyo3 panics (BaseException) on malformed files
        if _is_fatal(exc):
            raise
        if "password" in str(exc).lower() or "encrypt" in str(exc).lower():
            parsed.issues.append(issue("fichier-protege", fichier))
        else:
            parsed.issues.append(issue("fichier-illisible", fichier, detail=_unreadable_detail(content)))
        return parsed

    def load(name: str) -> _Sheet | None:
        try:
            return _load(reader, name)
        except BaseException as exc:
            if _is_fatal(exc):
                raise
            parsed.issues.append(issue("fichier-illisible", fichier, feuille=name,
                                       detail="une feuille ne peut pas être lue"))
            return None

    wanted = {"structure": schema.structure_sheet, "salaries": schema.salaries_sheet}
    found: dict[str, _Sheet | None] = {}
    sheet_issues: list[Issue] = []
    for key, spec in wanted.items():
        matching = [n for n in names if spec.matches(n)]
        if not matching:
            sheet_issues.append(issue("feuille-manquante", fichier, feuille_attendue=spec.label,
                                      feuilles=", ".join(f"« {n} »" for n in names) or "aucune"))
            found[key] = None
            continue
        if len(matching) > 1:
            sheet_issues.append(issue("feuille-en-double", fichier, feuille_attendue=spec.label,
                                      feuilles=", ".join(f"« {n} »" for n in matching)))
        found[key] = load(matching[0])
    if parsed.issues:  # a sheet could not be read
        return parsed
    if all(s is None or s.is_empty for s in found.values()) and _workbook_is_empty(names, load, found):
        parsed.issues.append(issue("classeur-vide", fichier))
        return parsed
    parsed.issues.extend(sheet_issues)
    structure_sheet, salaries_sheet = found["structure"], found["salaries"]
    if structure_sheet is not None:
        parsed.structure = read_structure(structure_sheet, schema, fichier, parsed.issues, today or date.today())
    if salaries_sheet is not None:
        read_salaries(salaries_sheet, schema, parsed)
    return parsed


def _workbook_is_empty(names: Sequence[str], load: Any, found: dict[str, _Sheet | None]) -> bool:
    done = {s.name for s in found.values() if s is not None}
    for name in names:
        if name in done:
            continue
        sheet = load(name)
        if sheet is None or not sheet.is_empty:
            return False
    return True


# -- shared cell helpers ---------------------------------------------------------------------------------------
def _cell_text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def display_expr(expr: pl.Expr) -> pl.Expr:
    """Text as read → as a person sees it in French Excel: real dates `JJ/MM/AAAA`, TRUE/FALSE `VRAI`/`FAUX`.

    fastexcel renders an Excel date cell as `AAAA-MM-JJ hh:mm:ss` and a boolean cell as `true`/`false`.
    """
    import polars as pl

    from cvg_pipeline.normalise import clean_expr

    text = clean_expr(expr)
    return (
        pl.when(text == "true")
        .then(pl.lit("VRAI"))
        .when(text == "false")
        .then(pl.lit("FAUX"))
        .otherwise(
            text.str.replace(r"^(\d{4})-(\d{2})-(\d{2}) 00:00:00$", "${3}/${2}/${1}").str.replace(
                r"^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):\d{2}$", "${3}/${2}/${1} ${4}:${5}"
            )
        )
    )


def display_text(value: Any) -> str | None:
    """`display_expr` for one Python value (Structure sheet)."""
    import polars as pl

    text = _cell_text(value)
    if text is None:
        return None
    result = pl.select(display_expr(pl.lit(text, pl.Utf8))).item()
    return None if result is None else str(result)


# -- sheet Structure (spec §1.1) -------------------------------------------------------------------------------
def _structure_columns(rows: list[tuple[Any, ...]], schema: Schema) -> tuple[int, int] | None:
    """(Champ, Valeur) column positions from a header row among the first rows, if there is one."""
    champ, valeur = fold(schema.structure_field_header), fold(schema.structure_value_header)
    for row in rows[: schema.header_search_rows]:
        folded = [fold(c) if isinstance(c, str) else "" for c in row]
        if champ in folded and valeur in folded:
            return folded.index(champ), folded.index(valeur)
    return None


def closest_territoire(raw: str, schema: Schema) -> Territoire | None:
    names: dict[str, Territoire] = {}
    for terr in schema.territoires:
        for spelling in (terr.name, terr.slug, *terr.synonyms):
            names.setdefault(fold(spelling), terr)
    found = difflib.get_close_matches(fold(raw), list(names), n=1, cutoff=0.6)
    return names[found[0]] if found else None


def read_structure(
    sheet: _Sheet, schema: Schema, fichier: str, issues: list[Issue], today: date
) -> StructureInfo:
    from cvg_pipeline.normalise import category_fields, parse_date_text, siret_problem

    rows = sheet.frame.rows()
    fixed = _structure_columns(rows, schema)
    values: dict[str, tuple[str | None, int | None, str | None, str | None]] = {}  # field -> (value text, row, label, letter)
    value_letter = sheet.letters[fixed[1]] if fixed else (sheet.letters[1] if len(sheet.letters) > 1 else "B")
    for i, row in enumerate(rows):
        if fixed is not None:
            label, value_pos = row[fixed[0]], fixed[1]
        else:
            filled = [j for j, c in enumerate(row) if _cell_text(c) is not None]
            if not filled:
                continue
            label, value_pos = row[filled[0]], (filled[1] if len(filled) > 1 else filled[0] + 1)
        label_text = _cell_text(label)
        if label_text is None:
            continue
        spec = schema.match_structure_field(label_text)
        if spec is None:
            continue
        letter = sheet.letters[value_pos] if value_pos < len(sheet.letters) else column_letter(
            sheet.indices[-1] + 1 + value_pos - len(sheet.letters))
        if spec.name in values:
            issues.append(issue("champ-en-double", fichier, feuille=sheet.name, ligne=i + 1, colonne=label_text,
                                lettre=letter, libelle=spec.label))
            continue
        cell = display_text(row[value_pos]) if value_pos < len(row) else None
        values[spec.name] = (cell, i + 1, label_text, letter)
        if fixed is None:
            value_letter = letter

    info: dict[str, Any] = {"nom": None, "siret": None, "territoire": None, "date_arrete": None, "supports": ()}
    field_rows: dict[str, int] = {}
    for spec in schema.structure_fields:
        value, ligne, label, at = values.get(spec.name, (None, None, None, value_letter))
        if ligne is not None:
            field_rows[spec.name] = ligne
        if value is None:
            if spec.required:
                issues.append(issue("champ-manquant", fichier, feuille=sheet.name, ligne=ligne, colonne=label,
                                    lettre=at, libelle=spec.label))
            continue
        where: dict[str, Any] = {"feuille": sheet.name, "ligne": ligne, "colonne": label, "lettre": at,
                                 "valeur": value}
        if spec.type == "text":
            info["nom"] = value
        elif spec.type == "siret":
            siret, detail = siret_problem(value)
            if detail is not None:
                issues.append(issue("siret-invalide", fichier, detail=detail, **where))
            info["siret"] = siret
        elif spec.type == "territoire":
            terr = schema.match_territoire(value)
            if terr is None:
                close = closest_territoire(value, schema)
                issues.append(issue(
                    "territoire-inconnu", fichier,
                    suggestion=f" (vouliez-vous dire « {close.name} » ?)" if close else "",
                    valeurs=", ".join(f"« {t.name} »" for t in schema.territoires), **where))
            else:
                info["territoire"] = terr.slug
        elif spec.type == "date":
            parsed_date, code = parse_date_text(value)
            if code is not None:
                issues.append(issue(code, fichier, **where))
            elif parsed_date is not None and parsed_date > today:
                issues.append(issue("date-future", fichier, aujourdhui=today.strftime("%d/%m/%Y"), **where))
            else:
                info["date_arrete"] = parsed_date
        else:  # supports: ";"-separated values of the supports domain
            domain = schema.domains["supports"]
            labels: list[str] = []
            for part in value.replace("\n", ";").split(";"):
                part = part.strip()
                if not part:
                    continue
                match = domain.match(part)
                if match is None:
                    fields: dict[str, Any] = {**where, "valeur": part, **category_fields(part, domain)}
                    issues.append(issue("valeur-inconnue", fichier, **fields))
                elif match.label not in labels:
                    labels.append(match.label)
            info["supports"] = tuple(labels)
    return StructureInfo(sheet=sheet.name, rows=field_rows, value_letter=value_letter, **info)


# -- sheet Salariés (spec §1.2, §3.1) --------------------------------------------------------------------------
_HEADER_CACHE: dict[tuple[int, str], tuple[Schema, HeaderMatch]] = {}


def match_header(schema: Schema, header: str) -> HeaderMatch:
    """`schema.match_header`, memoised: the same headers come back in every file."""
    key = (id(schema), header)
    hit = _HEADER_CACHE.get(key)
    if hit is None:
        hit = _HEADER_CACHE[key] = (schema, schema.match_header(header))
    return hit[1]


def find_header_row(rows: Sequence[Sequence[Any]], schema: Schema) -> int | None:
    """0-based index of the first of the first rows with enough recognised column labels."""
    for i, row in enumerate(rows[: schema.header_search_rows]):
        recognised = 0
        for cell in row:
            text = _cell_text(cell)
            if text is not None and match_header(schema, text).kind in ("column", "birth_date"):
                recognised += 1
        if recognised >= schema.header_min_labels:
            return i
    return None


def read_salaries(sheet: _Sheet, schema: Schema, parsed: ParsedFile) -> None:
    import polars as pl

    from cvg_pipeline.normalise import empty_data, normalise_salaries

    fichier, feuille, issues = parsed.fichier, sheet.name, parsed.issues
    parsed.salaries_sheet = feuille
    head = sheet.frame.head(schema.header_search_rows).rows()
    h = find_header_row(head, schema)
    if h is None:
        issues.append(issue("entete-introuvable", fichier, feuille=feuille, lignes=schema.header_search_rows,
                            minimum=schema.header_min_labels))
        return
    header_row = h + 1
    parsed.header_row = header_row
    seen: dict[str, list[tuple[SheetColumn, bool]]] = {}  # canonical -> (where, is a date of birth)
    for j, cell in enumerate(head[h]):
        text = _cell_text(cell)
        if text is None:
            continue
        where: dict[str, Any] = {"feuille": feuille, "ligne": header_row, "colonne": text,
                                 "lettre": sheet.letters[j]}
        match = match_header(schema, text)
        if match.kind == "identifier":
            issues.append(issue("identifiant-direct-supprime", fichier, **where))
        elif match.kind == "unknown" or match.column is None:
            issues.append(issue("colonne-inconnue", fichier, **where))
        else:
            is_birth = match.kind == "birth_date"
            if is_birth:
                issues.append(issue("date-naissance-reduite", fichier, **where))
            seen.setdefault(match.column.name, []).append(
                (SheetColumn(match.column.name, text, sheet.letters[j], sheet.indices[j]), is_birth))
    positions: dict[str, int] = {}  # canonical -> position in the frame (the first column found wins)
    birth: set[str] = set()
    for name, found in seen.items():
        first, first_is_birth = found[0]
        parsed.columns[name] = first
        positions[name] = sheet.indices.index(first.index)
        if first_is_birth:
            birth.add(name)
        for extra, _ in found[1:]:
            issues.append(issue("colonne-en-double", fichier, feuille=feuille, ligne=header_row,
                                colonne=extra.header, lettre=extra.letter,
                                colonnes=", ".join(f"« {c.header} »" for c, _ in found),
                                libelle=schema.column(name).label))
    for col in schema.columns:
        if col.required and col.name not in parsed.columns:
            issues.append(issue("colonne-manquante", fichier, feuille=feuille, libelle=col.label,
                                ligne_entete=header_row))

    # Only recognised columns survive this select: identifier columns are gone before any value is looked at.
    names = sheet.frame.columns
    body = sheet.frame.slice(h + 1).select(
        pl.int_range(header_row + 1, header_row + 1 + pl.len(), dtype=pl.Int32).alias(ROW_COLUMN),
        *(display_expr(pl.col(names[positions[n]])).alias(n) for n in positions),
    )
    if positions:
        body = body.filter(pl.any_horizontal(pl.col(n).is_not_null() for n in positions))
    else:
        body = body.clear()
    if body.height == 0:
        issues.append(issue("aucune-ligne", fichier, feuille=feuille))
        parsed.data = empty_data(schema)
        parsed.raw = body
        return
    data, cell_issues = normalise_salaries(body, schema, parsed.columns, fichier=fichier, feuille=feuille,
                                           birth_date=frozenset(birth))
    issues.extend(cell_issues)
    if birth:  # the full date of birth never leaves this function: keep only the year, as text
        body = body.with_columns(data.get_column(n).cast(pl.Utf8).alias(n) for n in birth)
    parsed.data = data
    parsed.raw = body
