"""The files of the export (csv, parquet, xlsx), written 0600 and never over an existing file unless asked;
the `--json` summary."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cvg_pipeline.check.errors import CvgError, UsageError
from cvg_pipeline.report.export.metadata import STATUTS, datapackage, field_descriptions
from cvg_pipeline.report.export.table import COLUMNS, Row

if TYPE_CHECKING:
    from cvg_pipeline.report.export.cube import Export

FORMATS = ("csv", "parquet", "xlsx")


def file_names(formats: Sequence[str], masque: bool) -> dict[str, str]:
    suffix = "" if masque else "-non-masque"
    names = {fmt: f"indicateurs{suffix}.{fmt}" for fmt in formats}
    if "csv" in formats or "parquet" in formats:
        names["datapackage"] = f"datapackage{suffix}.json"
    return names


def parse_formats(raw: str) -> tuple[str, ...]:
    wanted = tuple(dict.fromkeys(f.strip().lower() for f in raw.split(",") if f.strip()))
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown or not wanted:
        raise UsageError(f"format inconnu pour --format : « {', '.join(unknown) or raw} » (valeurs : {', '.join(FORMATS)}).")
    return wanted


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def csv_bytes(rows: Sequence[Row]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180: comma, CRLF, quotes only when needed
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_cell(v) for v in row.values()])
    return buffer.getvalue().encode("utf-8")


def frame(rows: Sequence[Row]) -> Any:
    import polars as pl

    return pl.DataFrame(
        {
            "perimetre": [r.perimetre for r in rows],
            "territoire": [r.territoire or None for r in rows],
            "annee": [r.annee for r in rows],
            "programme": [r.programme for r in rows],
            "indicateur": [r.indicateur for r in rows],
            "modalite": [r.modalite or None for r in rows],
            "valeur": [None if r.valeur is None else float(r.valeur) for r in rows],
            "base": [r.base for r in rows],
            "statut": [r.statut for r in rows],
        },
        schema={"perimetre": pl.String, "territoire": pl.String, "annee": pl.Int32, "programme": pl.String,
                "indicateur": pl.String, "modalite": pl.String, "valeur": pl.Float64, "base": pl.Int64,
                "statut": pl.String},
    )


def parquet_bytes(rows: Sequence[Row]) -> bytes:
    buffer = io.BytesIO()
    frame(rows).write_parquet(buffer, compression="zstd", statistics=True)
    return buffer.getvalue()


def xlsx_bytes(export: Export) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.table import Table, TableStyleInfo

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Indicateurs"
    ws.append(list(COLUMNS))
    for row in export.rows:
        ws.append([None if v == "" else v for v in row.values()])
    ref = f"A1:I{len(export.rows) + 1}"
    table = Table(displayName="Indicateurs", ref=ref)
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    ws.add_table(table)
    ws.freeze_panes = "A2"
    for column, width in zip("ABCDEFGHI", (11, 18, 7, 10, 48, 26, 11, 9, 7), strict=True):
        ws.column_dimensions[column].width = width
    readme = wb.create_sheet("Lisez-moi", 0)
    readme.column_dimensions["A"].width = 16
    readme.column_dimensions["B"].width = 110
    pack = datapackage(export, {})
    readme.append([pack["title"]])
    readme["A1"].font = Font(bold=True, size=14)
    readme.append([])
    readme.append(["Contenu", pack["description"]])
    readme.append(["Source", pack["sources"][0]["title"]])
    readme.append(["Licence", "Licence Ouverte / Open Licence version 2.0 (Etalab)" if export.masque
                   else "Aucune : fichier non masqué, à ne pas diffuser"])
    readme.append(["Filtrer", "Feuille « Indicateurs » : un tableau filtrable (flèches des en-têtes)."])
    readme.append([])
    readme.append(["Colonne", "Description"])
    for f in field_descriptions(export.seuil, export.masque):
        readme.append([f["name"], f["description"]])
    readme.append([])
    readme.append(["Statut", "Signification"])
    for code, text in STATUTS.items():
        readme.append([code, text])
    for r in readme.iter_rows(min_col=2, max_col=2):
        for c in r:
            c.alignment = Alignment(wrap_text=True, vertical="top")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def write_export(export: Export, out_dir: Path, formats: Sequence[str], *, ecraser: bool) -> list[Path]:
    """Write the files (0600, never over an existing file unless `ecraser`); nothing written if one exists."""
    from cvg_pipeline.files import FileExists, private_umask, write_new_file
    from cvg_pipeline.fr import erreur_systeme
    from cvg_pipeline.report.build import bytes_writer

    names = file_names(formats, export.masque)
    check_destination(out_dir, names, ecraser=ecraser)
    paths = {k: out_dir / v for k, v in names.items()}
    makers: dict[str, Callable[[], bytes]] = {
        "csv": lambda: csv_bytes(export.rows),
        "parquet": lambda: parquet_bytes(export.rows),
        "xlsx": lambda: xlsx_bytes(export),
        "datapackage": lambda: (json.dumps(datapackage(export, names), ensure_ascii=False, indent=2) + "\n").encode(),
    }
    written: list[Path] = []
    with private_umask():
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            for kind, path in paths.items():
                write_new_file(path, bytes_writer(makers[kind]()), overwrite=ecraser)
                written.append(path)
        except FileExists as exc:
            raise CvgError(_exists_message([exc.path]) + _partial(written)) from None
        except OSError as exc:
            raise CvgError(f"l'export n'a pas pu être écrit dans « {out_dir} » ({erreur_systeme(exc)})."
                           + _partial(written)) from exc
    export.files = written
    return written


def check_destination(out_dir: Path, names: Mapping[str, str], *, ecraser: bool) -> None:
    """CvgError unless `out_dir` is a folder (or absent) where none of `names` exists (or `ecraser`)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise CvgError(f"« {out_dir} » n'est pas un dossier : donnez un dossier avec --sortie ; rien n'a été écrit.")
    taken = [out_dir / n for n in names.values() if (out_dir / n).exists() or (out_dir / n).is_symlink()]
    if taken and not ecraser:
        raise CvgError(_exists_message(taken))


def _partial(written: Sequence[Path]) -> str:
    return f" Déjà écrits : {', '.join(str(p) for p in written)}." if written else " Rien n'a été écrit."


def _exists_message(paths: Sequence[Path]) -> str:
    names = ", ".join(f"« {p} »" for p in paths)
    verbe = "existe" if len(paths) == 1 else "existent"
    return f"{names} {verbe} déjà : aucun fichier n'a été écrit. Ajoutez --ecraser pour les remplacer, ou choisissez un autre dossier avec --sortie."


def summary(export: Export) -> dict[str, Any]:
    """What `cvg export --json` prints."""
    counts = {s: sum(r.statut == s for r in export.rows) for s in STATUTS}
    return {
        "fichiers": [str(p) for p in export.files],
        "lignes": len(export.rows),
        "masque": export.masque,
        "seuil": export.seuil,
        "perimetres": [p.territoire or "national" for p in export.perimetres],
        "programmes": export.programmes,
        "annees": export.annees,
        "statuts": counts,
        "donnees_au": export.donnees_au,
        "genere_le": date.today().isoformat(),
    }
