"""Rendering and writing the report: Markdown / HTML through the jinja2 templates of the package, PDF through
`report.pdf` (Typst); files written 0600, never over a file the tool did not create."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from cvg_pipeline.fr import erreur_systeme
from cvg_pipeline.report.secret_cells import (
    SEUIL_DEFAUT,
)
from cvg_pipeline.report.view import Rapport
from cvg_pipeline.schema.load import Schema

if TYPE_CHECKING:
    from cvg_pipeline.indicators.compute import Indicators

FORMATS = ("md", "html")  # the default of `cvg report`
FORMATS_POSSIBLES = (*FORMATS, "pdf")  # pdf: typeset by report_pdf.py (Typst)


# -- rendering -------------------------------------------------------------------------------------------
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#])|<(?=[A-Za-z/!?])|&(?=#?\w+;)")


def md_escape(text: object) -> str:
    """Make text inert in Markdown (and in the HTML a Markdown renderer may let through)."""
    return _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), str(text))


def _environment(kind: str) -> Any:
    import jinja2
    import markupsafe

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("cvg_pipeline", "templates"),  # package data, in the wheel too
        autoescape=(kind == "html"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = md_escape
    env.globals["Markup"] = markupsafe.Markup
    return env


def render_text(rapport: Rapport, fmt: str) -> str:
    """The report as Markdown (`md`) or HTML (`html`) text."""
    env = _environment(fmt)
    text: str = env.get_template(f"report.{fmt}.j2").render(r=rapport)
    return text


def parse_formats(raw: str | Sequence[str]) -> tuple[str, ...]:
    """`md,html` → ("md", "html"); ValueError (French) on an unknown format."""
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    out: list[str] = []
    for item in (i.strip().lower() for i in items):
        if not item:
            continue
        if item == "markdown":
            item = "md"
        if item not in FORMATS_POSSIBLES:
            raise ValueError(f"format inconnu : « {item} » (formats possibles : md, html, pdf).")
        if item not in out:
            out.append(item)
    if not out:
        raise ValueError("aucun format demandé (formats possibles : md, html, pdf).")
    return tuple(out)


def report_paths(ind: Indicators, formats: Sequence[str], out_dir: Path) -> list[Path]:
    from cvg_pipeline.report.build import perimetre_slug

    stem = f"rapport-{perimetre_slug(ind)}-{ind['annee']}"
    return [out_dir / f"{stem}.{fmt}" for fmt in formats]


def render_report(
    ind: Indicators,
    schema: Schema,
    *,
    formats: Sequence[str] = FORMATS,
    out_dir: Path = Path("rapports"),
    seuil: int = SEUIL_DEFAUT,
    colonnes_absentes: Mapping[str, Sequence[str] | None] | None = None,
    ecraser: bool = False,
    phc: Indicators | None = None,
    national: Indicators | None = None,
) -> list[Path]:
    """Write `rapport-<périmètre>-<année>.<format>` for each format into `out_dir`; return the paths.

    An existing report is never replaced unless `ecraser` (then nothing is written: CvgError); each file is
    written through a temporary file of the tool's own naming (files.write_new_file). A folder that cannot
    be written is a French CvgError (exit 1 on the command line)."""
    from cvg_pipeline.check.errors import CvgError
    from cvg_pipeline.files import FileExists, private_umask, write_new_file

    formats = parse_formats(formats)
    paths = report_paths(ind, formats, out_dir)
    taken = [p for p in paths if p.exists() or p.is_symlink()]
    if taken and not ecraser:
        raise CvgError(_exists_message(taken))
    from cvg_pipeline.report.build import build_report  # build imports this module

    rapport = build_report(ind, schema, seuil=seuil, charts=bool({"html", "pdf"} & set(formats)),
                           colonnes_absentes=colonnes_absentes, phc=phc, national=national)
    contents = [_render(rapport, fmt, ind, schema) for fmt in formats]  # all rendered before anything is written
    try:
        with private_umask():  # 0600, like every file cvg writes
            out_dir.mkdir(parents=True, exist_ok=True)
            for content, path in zip(contents, paths, strict=True):
                write_new_file(path, bytes_writer(content), overwrite=ecraser)
    except FileExists as exc:  # appeared meanwhile
        raise CvgError(_exists_message([exc.path])) from None
    except OSError as exc:
        raise CvgError(
            f"impossible d'écrire le rapport dans « {out_dir} » ({erreur_systeme(exc)}) : "
            "choisissez un autre dossier avec --sortie."
        ) from None
    return paths


def _render(rapport: Rapport, fmt: str, ind: Indicators, schema: Schema) -> str | bytes:
    if fmt == "pdf":
        from cvg_pipeline.report.build import perimetre_libelle
        from cvg_pipeline.report.pdf import render_pdf  # typst is imported only for a PDF

        return render_pdf(rapport, perimetre_libelle(ind, schema))
    return render_text(rapport, fmt)


def bytes_writer(content: str | bytes) -> Callable[[BinaryIO], None]:
    def write(out: BinaryIO) -> None:
        out.write(content.encode("utf-8") if isinstance(content, str) else content)

    return write


def _exists_message(paths: Sequence[Path]) -> str:
    names = ", ".join(f"« {p} »" for p in paths)
    return (
        f"{names} {'existe' if len(paths) == 1 else 'existent'} déjà : aucun rapport n'a été écrit. Ajoutez "
        "--ecraser pour remplacer les rapports, ou choisissez un autre dossier avec --sortie."
    )


def preload(formats: Sequence[str] = FORMATS) -> None:
    """Import the rendering stack in a background thread (matplotlib for the HTML charts: ~0.7 s), to overlap
    with the indicators query, which runs in DuckDB without holding the GIL. Harmless if never used."""
    import threading

    def run() -> None:
        import contextlib

        with contextlib.suppress(Exception):
            import highspy  # noqa: F401  (the audit of the secret statistique)
            import jinja2  # noqa: F401

            if "pdf" in formats:
                import typst  # noqa: F401
            if {"html", "pdf"} & set(formats):
                import matplotlib.backends.backend_svg
                import matplotlib.figure  # noqa: F401

    threading.Thread(target=run, name="cvg-report-preload", daemon=True).start()

