"""A catalogue of bad files: each is refused by `cvg ingest` (exit 1), with no traceback, located in French, and the
store is left exactly as it was (a full dump of every table compared before and after).
"""

from __future__ import annotations

import io
import random
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cvg_pipeline.cli import app
from cvg_pipeline.ingest import run as ig
from cvg_pipeline.store.db import create_store
from tests.builders import SIRET_2, open_row, structure, valid_row, write_workbook
from tests.storefill import dump_store

runner = CliRunner()
STRUCT_2 = {"SIRET": SIRET_2}


def wb(path: Path, rows: list[dict[str, object]] | None = None, **kw: object) -> Path:
    fields = structure(**{**STRUCT_2, **kw.pop("fields", {})})  # type: ignore[dict-item]
    return write_workbook(
        path, rows=rows if rows is not None else [valid_row()], structure_fields=fields, **kw
    )  # type: ignore[arg-type]


def good_bytes(tmp: Path) -> bytes:
    return wb(tmp / "modele.xlsx").read_bytes()


def random_bytes(p: Path) -> Path:
    p.write_bytes(random.Random(4).randbytes(4096))
    return p


def zero_bytes(p: Path) -> Path:
    p.write_bytes(b"")
    return p


def truncated_zip(p: Path) -> Path:
    data = good_bytes(p.parent)
    p.write_bytes(data[: len(data) // 2])
    return p


def csv_renamed(p: Path) -> Path:
    p.write_text("Identifiant salarié;Programme;Date d'entrée\nA1;CVG;01/02/2022\n", encoding="utf-8")
    return p


def password_protected(p: Path) -> Path:
    from msoffcrypto.format.ooxml import OOXMLFile

    plain = io.BytesIO(good_bytes(p.parent))
    with p.open("wb") as out:
        OOXMLFile(plain).encrypt("secret", out)
    return p


def empty_workbook(p: Path) -> Path:
    from openpyxl import Workbook

    Workbook().save(p)
    return p


def pdf_renamed_sheet(p: Path) -> Path:
    # a zip that is not a workbook at all
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("hello.txt", "bonjour")
    return p


@dataclass
class Case:
    kind: str
    build: Callable[[Path], Path]
    code: str
    expected: tuple[str, ...] = ()  # substrings of the output: the Excel row and header, values
    name: str = "aci.xlsx"


def row_case(
    kind: str, code: str, expected: tuple[str, ...], rows: list[dict[str, object]], **kw: object
) -> Case:
    return Case(kind, lambda p: wb(p, rows, **kw), code, expected)


CASES = [
    Case("octets aléatoires", random_bytes, "fichier-illisible"),
    Case("fichier de 0 octet", zero_bytes, "fichier-vide"),
    Case("zip tronqué", truncated_zip, "fichier-illisible"),
    Case("CSV renommé en .xlsx", csv_renamed, "fichier-illisible", ("CSV",)),
    Case("classeur protégé par mot de passe", password_protected, "fichier-protege", ("mot de passe",)),
    Case("classeur vide", empty_workbook, "classeur-vide"),
    Case("zip qui n'est pas un classeur", pdf_renamed_sheet, "fichier-illisible"),
    Case(
        "PDF donné explicitement",
        lambda p: (p.write_bytes(b"%PDF-1.4\n"), p)[1],
        "format-non-pris-en-charge",
        (".pdf",),
        name="rapport.pdf",
    ),
    Case(
        "pas de feuille Structure", lambda p: wb(p, structure_sheet=None), "feuille-manquante", ("Structure",)
    ),
    Case("pas de feuille Salariés", lambda p: wb(p, salaries_sheet=None), "feuille-manquante", ("Salariés",)),
    row_case(
        "colonne obligatoire absente",
        "colonne-manquante",
        ("« Sexe »",),
        [{k: v for k, v in valid_row().items() if k != "Sexe"}],
    ),
    Case(
        "deux en-têtes pour une colonne",
        lambda p: wb(p, [valid_row(Genre="Homme")]),
        "colonne-en-double",
        ("Sexe", "Genre"),
    ),
    row_case(
        "date impossible",
        "date-invalide",
        ("ligne 2", "« Date de sortie »", "31/02/2023"),
        [valid_row(**{"Date de sortie": "31/02/2023"})],
    ),
    row_case(
        "date américaine",
        "date-format-us",
        ("ligne 2", "« Date d'entrée »", "12/25/2022"),
        [open_row(**{"Date d'entrée": "12/25/2022"})],
    ),
    row_case(
        "date après la date d'arrêté",
        "date-apres-arrete",
        ("ligne 2", "« Date de sortie »", "15/01/2024"),
        [valid_row(**{"Date de sortie": date(2024, 1, 15)})],
    ),
    Case(
        "date d'arrêté dans le futur",
        lambda p: wb(p, fields={"Date d'arrêté": date(2099, 1, 31)}),
        "date-future",
        ("Structure", "2099"),
    ),
    row_case(
        "entrée avant 2010",
        "date-trop-ancienne",
        ("ligne 2", "« Date d'entrée »", "2009"),
        [open_row(**{"Date d'entrée": date(2009, 6, 1)})],
    ),
    row_case(
        "âge hors bornes",
        "age-hors-bornes",
        ("ligne 2", "« Année de naissance »", "2012"),
        [valid_row(**{"Année de naissance": 2012})],
    ),
    row_case(
        "heures hors bornes",
        "hors-bornes",
        ("ligne 2", "« Heures hebdomadaires à l'entrée »", "« 40 »"),
        [valid_row(**{"Heures hebdomadaires à l'entrée": 40})],
    ),
    row_case(
        "valeur de liste inconnue",
        "valeur-inconnue",
        ("ligne 2", "« Nationalité »", "Martienne"),
        [valid_row(**{"Nationalité": "Martienne"})],
    ),
    row_case(
        "Oui/Non invalide",
        "oui-non-invalide",
        ("ligne 2", "« Accompagnement concerté »", "Peut-être"),
        [valid_row(**{"Accompagnement concerté": "Peut-être"})],
    ),
    Case(
        "SIRET à la clé fausse",
        lambda p: wb(p, fields={"SIRET": "12345678901234"}),
        "siret-invalide",
        ("Structure", "12345678901234"),
    ),
    Case(
        "territoire inconnu",
        lambda p: wb(p, fields={"Territoire": "Lyyon"}),
        "territoire-inconnu",
        ("Lyyon", "Métropole de Lyon"),
    ),
    row_case(
        "ligne sans identifiant",
        "identifiant-manquant",
        ("ligne 3",),
        [valid_row(), open_row(**{"Identifiant salarié": None})],
    ),
    row_case(
        "doublon identifiant + date d'entrée",
        "doublon-parcours",
        ("ligne 3", "ligne 2"),
        [valid_row(), valid_row()],
    ),
    row_case(
        "parcours qui se chevauchent",
        "parcours-chevauchants",
        ("ligne 3", "ligne 2", "Identifiant salarié"),
        [valid_row(), open_row(**{"Date d'entrée": date(2023, 1, 2)})],
    ),
    row_case(
        "sortie sans motif",
        "sortie-incomplete",
        ("ligne 2", "Situation à la sortie"),
        [valid_row(**{"Situation à la sortie": None}), open_row(**{"Identifiant salarié": "B"})],
    ),
    row_case(
        "sortie sans logement",
        "sortie-incomplete",
        ("ligne 2", "Situation logement à la sortie"),
        [valid_row(**{"Situation logement à la sortie": None})],
    ),
    row_case(
        "bloc sortie sans date de sortie",
        "bloc-sortie-sans-date",
        ("ligne 2", "« Situation à la sortie »"),
        [open_row(**{"Situation à la sortie": "CDI"})],
    ),
    row_case(
        "res_ sans diff_ Oui",
        "condition-non-remplie",
        ("ligne 2", "« Difficulté Logement à la sortie »", "Difficulté Logement à l'entrée"),
        [valid_row(**{"Difficulté Logement à l'entrée": "Non"})],
    ),
    row_case(
        "sortie avant l'entrée",
        "sortie-avant-entree",
        ("ligne 2", "« Date de sortie »"),
        [valid_row(**{"Date de sortie": date(2021, 1, 1)})],
    ),
    row_case(
        "valeur obligatoire vide",
        "valeur-obligatoire",
        ("ligne 2", "« Programme »"),
        [valid_row(**{"Programme": None})],
    ),
]


def _several(p: Path) -> Path:
    rows = [
        valid_row(**{"Date de sortie": "31/02/2023"}),
        valid_row(**{"Identifiant salarié": "B", "Heures hebdomadaires à l'entrée": 0}),
        open_row(**{"Identifiant salarié": "C", "Sexe": "Autre", "Situation à la sortie": "CDI"}),
    ]
    return wb(p, rows)


SEVERAL_CODES = {"date-invalide", "hors-bornes", "valeur-inconnue", "bloc-sortie-sans-date"}


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A store already holding one good file (of another ACI), so that 'unchanged' means something."""
    path = tmp_path / "cvg.duckdb"
    good = write_workbook(
        tmp_path / "deja" / "bon.xlsx", rows=[valid_row(), open_row(**{"Identifiant salarié": "Z"})]
    )
    create_store(path)  # `cvg init`
    result = ig.ingest_paths([good], path)
    assert result.exit_code == 0
    return path


def full_dump(store: Path) -> dict[str, list[tuple[object, ...]]]:
    return dump_store(store)


def test_catalogue_has_at_least_25_kinds() -> None:
    assert len({c.kind for c in CASES}) + 1 >= 25  # + the file with several errors


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.kind)
def test_bad_file_is_refused_and_located(case: Case, tmp_path: Path, store: Path) -> None:
    folder = tmp_path / "recu"
    folder.mkdir()
    path = case.build(folder / case.name)
    before = full_dump(store)
    result = runner.invoke(app, ["ingest", "--store", str(store), str(path)])
    out = result.output
    assert result.exit_code == 1, out
    assert "Traceback" not in out
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "rejeté" in out and case.name in out
    assert f"({case.code})" in out, out
    for text in case.expected:
        assert text in out, f"{text!r} not in:\n{out}"
    assert full_dump(store) == before


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.kind)
def test_bad_file_in_json(case: Case, tmp_path: Path, store: Path) -> None:
    import json

    path = case.build(tmp_path / case.name)
    result = runner.invoke(app, ["ingest", "--json", "--store", str(store), str(path)])
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    (f,) = payload["fichiers"]
    assert f["statut"] == "rejeté" and f["erreurs"] >= 1
    issue = next(i for i in f["problemes"] if i["code"] == case.code)
    assert issue["gravite"] == "erreur" and issue["message"]
    if any(t.startswith("ligne ") for t in case.expected):
        assert (
            issue["ligne"] is not None
            and issue["colonne"]
            and issue["lettre"]
            and issue["feuille"] == "Salariés"
        )


def test_several_errors_are_all_reported(tmp_path: Path, store: Path) -> None:
    path = _several(tmp_path / "plusieurs.xlsx")
    before = full_dump(store)
    result = runner.invoke(app, ["ingest", "--store", str(store), str(path)])
    assert result.exit_code == 1
    for code in SEVERAL_CODES:
        assert f"({code})" in result.output, result.output
    for ligne in ("ligne 2", "ligne 3", "ligne 4"):
        assert ligne in result.output
    assert full_dump(store) == before
