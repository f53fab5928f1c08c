"""validate(): every cell bound and row rule of spec §2 and §5, on hand-built ParsedFiles (typed frames).

The reader is tested on its own; here each test states typed canonical values and checks the issue: code,
Excel row, header as written, column letter, value as written.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from cvg_pipeline.check.validate import build_schema, validate
from cvg_pipeline.read.model import ROW_COLUMN, ParsedFile, SheetColumn, StructureInfo
from cvg_pipeline.schema.load import load_schema
from cvg_pipeline.schema.types import polars_dtype
from tests.builders import valid_row, write_workbook

SCHEMA = load_schema()
HEADER_ROW = 3  # a title row and a blank row above the header: data starts at Excel row 4


def letter(index: int) -> str:
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def typed_row(**overrides: Any) -> dict[str, Any]:
    """A valid parcours in canonical, typed form (a sortie in 2023)."""
    row: dict[str, Any] = {
        "id_salarie": "A001",
        "programme": "CVG",
        "date_entree": date(2022, 3, 1),
        "date_sortie": date(2023, 6, 30),
        "heures_hebdo_entree": 20.0,
        "heures_hebdo_sortie": 26.0,
        "sexe": "Femme",
        "annee_naissance": 1980,
        "nationalite": "Française",
        "orienteur": "France Travail",
        "duree_sans_emploi": "Plus de 24 mois",
        "logement_entree": "Hébergement collectif",
        "diff_logement": True,
        "diff_sante": False,
        "res_logement": "En cours de résolution",
        "acc_concerte": True,
        "motif_sortie": "CDI",
        "logement_sortie": "Logement pérenne",
        "post_sortie_contact": False,
    }
    row.update(overrides)
    return row


def open_typed_row(**overrides: Any) -> dict[str, Any]:
    row = typed_row(
        date_sortie=None,
        heures_hebdo_sortie=None,
        res_logement=None,
        motif_sortie=None,
        logement_sortie=None,
        post_sortie_contact=None,
    )
    row.update(overrides)
    return row


def raw_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, bool):
        return "Oui" if value else "Non"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def parsed(
    rows: list[dict[str, Any]],
    *,
    fichier: str = "aci.xlsx",
    date_arrete: date | None = date(2023, 12, 31),
    present: list[str] | None = None,
    raw_overrides: dict[tuple[int, str], str] | None = None,
) -> ParsedFile:
    """A ParsedFile as the reader would hand it: typed data, raw text, column locations (template labels)."""
    names = present if present is not None else [c.name for c in SCHEMA.columns]
    columns = {n: SheetColumn(n, SCHEMA.column(n).label, letter(i), i) for i, n in enumerate(names)}
    lignes = [HEADER_ROW + 1 + i for i in range(len(rows))]
    data = pl.DataFrame(
        {
            c.name: pl.Series(
                [r.get(c.name) if c.name in names else None for r in rows], dtype=polars_dtype(c.type)
            )
            for c in SCHEMA.columns
        }
        | {ROW_COLUMN: pl.Series(lignes, dtype=pl.Int32)}
    )
    raw_cols: dict[str, Any] = {ROW_COLUMN: pl.Series(lignes, dtype=pl.Int32)}
    for n in names:
        raw_cols[n] = pl.Series([raw_text(r.get(n)) for r in rows], dtype=pl.String)
    for (i, n), text in (raw_overrides or {}).items():
        values = raw_cols[n].to_list()
        values[i] = text
        raw_cols[n] = pl.Series(values, dtype=pl.String)
    return ParsedFile(
        path=Path(fichier),
        fichier=fichier,
        sha256="0" * 64,
        structure=StructureInfo("Structure", "Atelier", "12345678901234", "lyon", date_arrete, ()),
        salaries_sheet="Salariés",
        header_row=HEADER_ROW,
        columns=columns,
        data=data,
        raw=pl.DataFrame(raw_cols),
    )


def codes(f: ParsedFile) -> list[tuple[str, int | None, str | None]]:
    return [(i.code, i.ligne, i.colonne) for i in f.issues]


def test_schema_is_generated_from_schemas() -> None:
    pandera_schema = build_schema(SCHEMA)
    assert set(pandera_schema.columns) >= {c.name for c in SCHEMA.columns}
    # one bound check per bounded number column, one condition check per `seulement_si` column
    for col in SCHEMA.columns:
        names = [ch.name for ch in pandera_schema.columns[col.name].checks]
        assert ("hors-bornes" in names) == (col.min is not None or col.max is not None)
        assert ("condition-non-remplie" in names) == (col.only_if is not None)
        assert ("bloc-sortie-sans-date" in names) == col.exit_only
        assert ("sortie-incomplete" in names) == (col.rule == "si_sortie")


def test_valid_rows_give_no_issue() -> None:
    f = parsed(
        [
            typed_row(),
            open_typed_row(id_salarie="B2"),
            typed_row(
                id_salarie="A001",
                date_entree=date(2023, 7, 1),
                date_sortie=None,
                motif_sortie=None,
                logement_sortie=None,
                heures_hebdo_sortie=None,
                res_logement=None,
                post_sortie_contact=None,
            ),
        ]
    )
    validate([f], SCHEMA)
    assert f.issues == []


BOUNDED = [c for c in SCHEMA.columns if c.min is not None or c.max is not None]


@pytest.mark.parametrize("column", BOUNDED, ids=lambda c: c.name)
@pytest.mark.parametrize(
    ("offset", "bad"), [(-1.0, True), (0.0, False), (None, False), (1e-9, False), (-0.5, True)]
)
def test_number_bounds_low(column: Any, offset: float | None, bad: bool) -> None:
    value = None if offset is None else column.min + offset
    f = parsed([typed_row(**{column.name: value})])
    validate([f], SCHEMA)
    expected = [("hors-bornes", HEADER_ROW + 1, column.label)] if bad else []
    assert codes(f) == expected


@pytest.mark.parametrize("column", BOUNDED, ids=lambda c: c.name)
@pytest.mark.parametrize(("offset", "bad"), [(1.0, True), (0.0, False), (0.5, True), (-10.0, False)])
def test_number_bounds_high(column: Any, offset: float, bad: bool) -> None:
    f = parsed([typed_row(**{column.name: column.max + offset})])
    validate([f], SCHEMA)
    assert codes(f) == ([("hors-bornes", HEADER_ROW + 1, column.label)] if bad else [])


def test_bound_issue_has_letter_and_value_as_written() -> None:
    f = parsed([typed_row(heures_hebdo_entree=40.5)], raw_overrides={(0, "heures_hebdo_entree"): "40,5"})
    validate([f], SCHEMA)
    (i,) = f.issues
    assert i.lettre == letter([c.name for c in SCHEMA.columns].index("heures_hebdo_entree"))
    assert i.valeur == "40,5"
    assert i.feuille == "Salariés"
    assert "« 40,5 »" in i.message and "entre 1 et 35" in i.message
    assert i.message.startswith(
        f"Salariés, ligne {HEADER_ROW + 1}, colonne « Heures hebdomadaires à l'entrée »"
    )


@pytest.mark.parametrize(
    ("birth", "bad"),
    [
        (2022 - 16, False),
        (2022 - 15, True),
        (2022 - 80, False),
        (2022 - 81, True),
        (2030, True),
        (1900, True),
    ],
)
def test_age_at_entry(birth: int, bad: bool) -> None:
    f = parsed([typed_row(annee_naissance=birth)])
    validate([f], SCHEMA)
    assert codes(f) == ([("age-hors-bornes", HEADER_ROW + 1, "Année de naissance")] if bad else [])
    if bad:
        assert f"{2022 - birth} ans" in f.issues[0].message


@pytest.mark.parametrize(
    ("entree", "bad"), [(date(2009, 12, 31), True), (date(2010, 1, 1), False), (date(1999, 5, 5), True)]
)
def test_entry_before_2010(entree: date, bad: bool) -> None:
    f = parsed([open_typed_row(date_entree=entree, annee_naissance=entree.year - 30)])
    validate([f], SCHEMA)
    assert codes(f) == ([("date-trop-ancienne", HEADER_ROW + 1, "Date d'entrée")] if bad else [])


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"date_sortie": date(2024, 1, 1)}, [("date-apres-arrete", "Date de sortie")]),
        ({"date_sortie": date(2023, 12, 31)}, []),
        (
            {"date_entree": date(2024, 2, 1), "date_sortie": date(2024, 3, 1)},
            [("date-apres-arrete", "Date d'entrée"), ("date-apres-arrete", "Date de sortie")],
        ),
    ],
)
def test_dates_after_arrete(overrides: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    f = parsed([typed_row(**overrides)])
    validate([f], SCHEMA)
    assert sorted((c, col) for c, _l, col in codes(f)) == sorted(expected)
    for i in f.issues:
        assert "31/12/2023" in i.message


def test_date_arrete_is_per_file() -> None:
    early = parsed([typed_row()], fichier="a.xlsx", date_arrete=date(2023, 1, 31))
    late = parsed([typed_row()], fichier="b.xlsx")
    validate([early, late], SCHEMA)
    assert [i.code for i in early.issues] == ["date-apres-arrete"]
    assert late.issues == []


@pytest.mark.parametrize(
    ("sortie", "bad"), [(date(2022, 2, 28), True), (date(2022, 3, 1), False), (date(2022, 3, 2), False)]
)
def test_sortie_before_entree(sortie: date, bad: bool) -> None:
    f = parsed([typed_row(date_sortie=sortie)])
    validate([f], SCHEMA)
    assert codes(f) == ([("sortie-avant-entree", HEADER_ROW + 1, "Date de sortie")] if bad else [])
    if bad:
        assert "28/02/2022" in f.issues[0].message and "01/03/2022" in f.issues[0].message


EXIT_ONLY = [c for c in SCHEMA.columns if c.exit_only]
SAMPLE_VALUE = {"bool": True, "cat": None, "number": 20.0}


def exit_value(col: Any) -> Any:
    if col.type == "cat":
        return SCHEMA.domain_of(col).values[0].label
    return SAMPLE_VALUE[col.type]


@pytest.mark.parametrize("column", EXIT_ONLY, ids=lambda c: c.name)
def test_sortie_block_without_date(column: Any) -> None:
    row = open_typed_row(**{column.name: exit_value(column)})
    if column.only_if:  # keep the condition satisfied: only the sortie rule may fire
        row[column.only_if] = True
    f = parsed([row])
    validate([f], SCHEMA)
    expected = [("bloc-sortie-sans-date", HEADER_ROW + 1, column.label)]
    if column.only_if and SCHEMA.column(column.only_if).exit_only:  # the condition is in the block too
        expected.append(("bloc-sortie-sans-date", HEADER_ROW + 1, SCHEMA.column(column.only_if).label))
    assert sorted(codes(f)) == sorted(expected)
    assert all(i.valeur is not None for i in f.issues)


SI_SORTIE = [c for c in SCHEMA.columns if c.rule == "si_sortie"]


@pytest.mark.parametrize("column", SI_SORTIE, ids=lambda c: c.name)
def test_sortie_incomplete(column: Any) -> None:
    f = parsed([typed_row(**{column.name: None})])
    validate([f], SCHEMA)
    assert codes(f) == [("sortie-incomplete", HEADER_ROW + 1, column.label)]
    assert f.issues[0].valeur is None


def test_sortie_column_absent_is_one_structure_error() -> None:
    present = [c.name for c in SCHEMA.columns if c.name != "motif_sortie"]
    f = parsed([typed_row(), typed_row(id_salarie="B")], present=present)
    validate([f], SCHEMA)
    assert [(i.code, i.ligne) for i in f.issues] == [("colonne-manquante", None)]
    assert "Situation à la sortie" in f.issues[0].message


ONLY_IF = [c for c in SCHEMA.columns if c.only_if]


@pytest.mark.parametrize("column", ONLY_IF, ids=lambda c: c.name)
@pytest.mark.parametrize(("condition", "bad"), [(True, False), (False, True), (None, True)])
def test_condition_not_met(column: Any, condition: bool | None, bad: bool) -> None:
    row = typed_row(**{column.name: exit_value(column), column.only_if: condition})
    f = parsed([row])
    validate([f], SCHEMA)
    assert codes(f) == ([("condition-non-remplie", HEADER_ROW + 1, column.label)] if bad else [])
    if bad:
        assert SCHEMA.column(column.only_if).label in f.issues[0].message


def test_duplicate_parcours_names_the_other_row() -> None:
    f = parsed([typed_row(), open_typed_row(id_salarie="B"), typed_row()])
    validate([f], SCHEMA)
    assert codes(f) == [("doublon-parcours", HEADER_ROW + 3, "Identifiant salarié")]
    assert f"ligne {HEADER_ROW + 1}" in f.issues[0].message.split(":", 1)[1]
    assert f.issues[0].valeur is None  # never the raw identifier


def test_same_id_in_two_files_is_not_a_duplicate() -> None:
    a, b = parsed([typed_row()], fichier="a.xlsx"), parsed([typed_row()], fichier="b.xlsx")
    validate([a, b], SCHEMA)
    assert a.issues == [] and b.issues == []


@pytest.mark.parametrize(
    ("second", "bad"),
    [
        ({"date_entree": date(2023, 1, 1)}, True),  # starts before the first one ended (30/06/2023)
        ({"date_entree": date(2023, 6, 30)}, False),  # re-entry on the day of the exit
        ({"date_entree": date(2023, 7, 1)}, False),
    ],
)
def test_overlapping_parcours(second: dict[str, Any], bad: bool) -> None:
    f = parsed([typed_row(), open_typed_row(**second)])
    validate([f], SCHEMA)
    assert codes(f) == ([("parcours-chevauchants", HEADER_ROW + 2, "Identifiant salarié")] if bad else [])
    if bad:
        assert f"ligne {HEADER_ROW + 1}" in f.issues[0].message.split(":", 1)[1]


def test_overlap_with_an_open_parcours_listed_later() -> None:
    # the open parcours (row 1) started first; the later closed one (row 2) overlaps it
    f = parsed([open_typed_row(date_entree=date(2021, 1, 1)), typed_row()])
    validate([f], SCHEMA)
    assert codes(f) == [("parcours-chevauchants", HEADER_ROW + 2, "Identifiant salarié")]
    assert f"ligne {HEADER_ROW + 1}" in f.issues[0].message.split(":", 1)[1]


def test_every_error_of_several_files_is_reported_at_once() -> None:
    a = parsed(
        [
            typed_row(heures_hebdo_entree=50.0, annee_naissance=2015),
            typed_row(id_salarie="B", date_sortie=date(2021, 1, 1), motif_sortie=None),
        ],
        fichier="a.xlsx",
    )
    b = parsed([open_typed_row(motif_sortie="CDI")], fichier="b.xlsx")
    validate([a, b], SCHEMA)
    assert sorted(codes(a)) == sorted(
        [
            ("hors-bornes", HEADER_ROW + 1, "Heures hebdomadaires à l'entrée"),
            ("age-hors-bornes", HEADER_ROW + 1, "Année de naissance"),
            ("sortie-avant-entree", HEADER_ROW + 2, "Date de sortie"),
            ("sortie-incomplete", HEADER_ROW + 2, "Situation à la sortie"),
        ]
    )
    assert codes(b) == [("bloc-sortie-sans-date", HEADER_ROW + 1, "Situation à la sortie")]
    assert all(i.fichier == "a.xlsx" for i in a.issues)


def test_headers_as_written_are_used() -> None:
    f = parsed([typed_row(heures_hebdo_entree=0.0)])
    f.columns["heures_hebdo_entree"] = SheetColumn("heures_hebdo_entree", "Nb heures entrée", "Q", 16)
    validate([f], SCHEMA)
    (i,) = f.issues
    assert (i.colonne, i.lettre) == ("Nb heures entrée", "Q")


def test_files_without_data_are_skipped() -> None:
    broken = ParsedFile(path=Path("x.xlsx"), fichier="x.xlsx", sha256="1" * 64)
    ok = parsed([typed_row()])
    validate([broken, ok], SCHEMA)
    assert broken.issues == [] and ok.issues == []


def test_invalid_sortie_date_does_not_cascade() -> None:
    # the reader reported « 31/02/2023 » and left null: the sortie block must not be reported as dateless
    f = parsed([typed_row(date_sortie=None)], raw_overrides={(0, "date_sortie"): "31/02/2023"})
    validate([f], SCHEMA)
    assert f.issues == []


def test_invalid_condition_does_not_cascade() -> None:
    f = parsed([typed_row(diff_logement=None)], raw_overrides={(0, "diff_logement"): "Peut-être"})
    validate([f], SCHEMA)
    assert f.issues == []
    g = parsed([typed_row(diff_logement=None)], raw_overrides={(0, "diff_logement"): None})
    validate([g], SCHEMA)
    assert [i.code for i in g.issues] == ["condition-non-remplie"]


def test_unknown_motif_is_not_also_reported_missing(tmp_path: Path) -> None:
    """An unknown motif is one error (valeur-inconnue), not also « sortie-incomplete » on the same cell."""
    from cvg_pipeline.ingest.run import verify_paths

    path = write_workbook(tmp_path / "motif.xlsx", rows=[valid_row(**{"Situation à la sortie": "Parti en vacances"})])
    [result] = verify_paths([path], schema=load_schema())
    codes = [i.code for i in result.issues if i.is_error]
    assert codes == ["valeur-inconnue"]


def test_entry_before_2010_gives_no_age_error(tmp_path: Path) -> None:
    """A year typed as a date (serial 2022 = 1905) is one error at the date, not also an absurd age."""
    from cvg_pipeline.ingest.run import verify_paths

    path = write_workbook(tmp_path / "annee.xlsx", rows=[valid_row(**{"Date d'entrée": "01/03/1922"})])
    [result] = verify_paths([path], schema=load_schema())
    assert [i.code for i in result.issues if i.is_error] == ["date-trop-ancienne"]


_PANDERA_PROBE = """
import sys
from pathlib import Path
from cvg_pipeline.ingest.run import verify_paths
from cvg_pipeline.schema.load import load_schema
[result] = verify_paths([Path(sys.argv[1])], schema=load_schema())
print(sorted({i.code for i in result.issues if i.is_error}), "pandera" in sys.modules)
"""


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, "[] False"),  # no row can fail a rule: pandera (and pandas) never imported
        ({"Heures hebdomadaires à l'entrée": 40}, "['hors-bornes'] True"),  # a suspect row: pandera checks it
    ],
)
def test_pandera_runs_only_when_a_row_may_fail(tmp_path: Path, overrides: dict[str, Any], expected: str) -> None:
    import subprocess
    import sys

    path = write_workbook(tmp_path / "f.xlsx", rows=[valid_row(**overrides)])
    out = subprocess.run([sys.executable, "-c", _PANDERA_PROBE, str(path)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == expected


def test_suspect_subset_gives_the_same_issues_as_the_whole_frame(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pandera sees only the suspect rows (and their whole id group): same issues as on every row."""
    from datetime import date as d

    from cvg_pipeline.check import validate as validate_module
    from cvg_pipeline.ingest.run import verify_paths

    rows = [
        valid_row(**{"Identifiant salarié": "OK1"}),
        # duplicate id + entry date, the first of the pair being valid on its own
        valid_row(**{"Identifiant salarié": "DUP"}), valid_row(**{"Identifiant salarié": "DUP"}),
        # overlap: the second parcours starts before the first ends
        valid_row(**{"Identifiant salarié": "OVL", "Date d'entrée": d(2021, 1, 1), "Date de sortie": d(2022, 6, 1)}),
        valid_row(**{"Identifiant salarié": "OVL", "Date d'entrée": d(2022, 1, 1), "Date de sortie": d(2023, 6, 1)}),
        # a returning person without overlap (valid), and row-level failures
        valid_row(**{"Identifiant salarié": "BACK", "Date d'entrée": d(2020, 1, 1), "Date de sortie": d(2020, 6, 1)}),
        valid_row(**{"Identifiant salarié": "BACK", "Date d'entrée": d(2021, 1, 1), "Date de sortie": d(2021, 6, 1)}),
        valid_row(**{"Identifiant salarié": "HRS", "Heures hebdomadaires à l'entrée": 36}),
        valid_row(**{"Identifiant salarié": "RES", "Difficulté Logement à l'entrée": "Non"}),
    ]
    path = write_workbook(tmp_path / "mix.xlsx", rows=rows)

    def issues() -> list[tuple[str, int | None, str | None]]:
        [result] = verify_paths([path], schema=load_schema())
        return sorted((i.code, i.ligne, i.colonne) for i in result.issues if i.is_error)

    subset = issues()
    # every row suspect: the readers mark every row and validate stacks them all
    monkeypatch.setattr(validate_module, "_suspect_flags", lambda frame, schema: pl.Series([True] * frame.height))
    assert subset == issues()
    assert {code for code, _, _ in subset} == {
        "doublon-parcours", "parcours-chevauchants", "hors-bornes", "condition-non-remplie"
    }


def test_rows_marked_by_the_readers_chunk_by_chunk_give_the_same_issues(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The readers mark suspect rows chunk by chunk (ingest._read_chunk → mark_suspects); validate then stacks
    only the marked rows. Marked in chunks of one file, in one chunk, or not at all: the same issues."""
    from datetime import date as d

    from cvg_pipeline.ingest import run as ig
    from cvg_pipeline.read.model import SUSPECT_COLUMN

    schema = load_schema()
    paths = [
        write_workbook(tmp_path / "a.xlsx", rows=[
            valid_row(**{"Identifiant salarié": "OK1"}),
            valid_row(**{"Identifiant salarié": "DUP"}), valid_row(**{"Identifiant salarié": "DUP"}),
        ]),
        write_workbook(tmp_path / "b.xlsx", rows=[valid_row(**{"Identifiant salarié": "OK2"})]),
        write_workbook(tmp_path / "c.xlsx", rows=[
            valid_row(**{"Identifiant salarié": "OVL", "Date d'entrée": d(2021, 1, 1), "Date de sortie": d(2022, 6, 1)}),
            valid_row(**{"Identifiant salarié": "OVL", "Date d'entrée": d(2022, 1, 1), "Date de sortie": d(2023, 6, 1)}),
            valid_row(**{"Identifiant salarié": "HRS", "Heures hebdomadaires à l'entrée": 36}),
        ]),
    ]
    todo = [(p, p.name, ig.sha256_file(p)) for p in paths]
    monkeypatch.setattr(ig, "MIN_FILES_FOR_WORKER", 10**6)  # in this process: chunks as set below

    def issues(min_chunk: int, mark: bool) -> list[list[tuple[str, int | None]]]:
        monkeypatch.setattr(ig, "MIN_CHUNK", min_chunk)
        parsed = ig.read_files(todo, schema, today=date(2024, 6, 1))
        if not mark:
            for f in parsed:
                assert f.data is not None
                f.data = f.data.drop(SUSPECT_COLUMN)
        validate([f for f in parsed if f.data is not None], schema)
        return [sorted((i.code, i.ligne) for i in f.issues if i.is_error) for f in parsed]

    one_by_one = issues(1, mark=True)
    assert one_by_one == issues(100, mark=True) == issues(100, mark=False)
    assert one_by_one == [
        [("doublon-parcours", 4)],  # rows 3 and 4 (row 1: header): the second one is the duplicate
        [],
        [("hors-bornes", 4), ("parcours-chevauchants", 3)],
    ]


def test_mark_suspects_marks_failing_rows_and_their_whole_identifier_group(tmp_path: Path) -> None:
    from cvg_pipeline.ingest import run as ig
    from cvg_pipeline.read.model import SUSPECT_COLUMN

    path = write_workbook(tmp_path / "a.xlsx", rows=[
        valid_row(**{"Identifiant salarié": "OK1"}),
        valid_row(**{"Identifiant salarié": "HRS"}),
        valid_row(**{"Identifiant salarié": "HRS", "Date d'entrée": date(2022, 1, 1),
                     "Heures hebdomadaires à l'entrée": 36}),
        valid_row(**{"Identifiant salarié": "OK2"}),
    ])
    [parsed] = ig.read_files([(path, path.name, ig.sha256_file(path))], load_schema(), today=date(2024, 6, 1))
    assert parsed.data is not None
    assert parsed.data.get_column(SUSPECT_COLUMN).to_list() == [False, True, True, False]


def test_a_salaries_sheet_without_rows_is_marked_too(tmp_path: Path) -> None:
    """A header-only sheet gets its (empty) suspect column like any other, alone or beside a file with rows."""
    from cvg_pipeline.ingest import run as ig
    from cvg_pipeline.read.model import SUSPECT_COLUMN

    header = list(valid_row())
    paths = [write_workbook(tmp_path / "vide.xlsx", header=header, rows=[]),
             write_workbook(tmp_path / "a.xlsx", rows=[valid_row()])]
    for todo in ([paths[0]], paths):
        parsed = ig.read_files([(p, p.name, ig.sha256_file(p)) for p in todo], load_schema(), today=date(2024, 6, 1))
        empty = parsed[0]
        assert empty.data is not None and empty.data.height == 0
        assert empty.data.get_column(SUSPECT_COLUMN).to_list() == []
