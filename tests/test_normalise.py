"""Reading values (spec §3.2–§3.5): every rule through the production code path (normalise_frame)."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from cvg_pipeline.read.normalise import (
    BIRTH_PREFIX,
    ERR_PREFIX,
    clean_siret,
    closest_label,
    luhn_valid,
    normalise_frame,
    parse_birth_year,
    resolve_bool,
    siret_problem,
)
from cvg_pipeline.schema.load import load_schema
from tests.builders import SIRET
from tests.cells import (
    parse_bool_value,
    parse_category,
    parse_date_text,
    parse_int_text,
    parse_number_text,
    parse_text,
)

SCHEMA = load_schema()


# -- dates (§3.3) ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("01/03/2022", date(2022, 3, 1)),  # JJ/MM/AAAA
        ("1/3/2022", date(2022, 3, 1)),
        ("01-03-2022", date(2022, 3, 1)),  # JJ-MM-AAAA
        ("01.03.2022", date(2022, 3, 1)),  # JJ.MM.AAAA
        ("2022-03-01", date(2022, 3, 1)),  # AAAA-MM-JJ
        ("2022-3-1", date(2022, 3, 1)),
        ("01/03/22", date(2022, 3, 1)),  # JJ/MM/AA read as 20AA
        ("31/12/99", date(2099, 12, 31)),
        ("2022-03-01 00:00:00", date(2022, 3, 1)),  # a real Excel date, as fastexcel renders it
        ("2022-03-01 17:45:12", date(2022, 3, 1)),  # a date-time: the time is ignored
        ("01/03/2022 08:30", date(2022, 3, 1)),
        ("45291", date(2023, 12, 31)),  # serial number (as text or number)
        ("45291.5", date(2023, 12, 31)),  # serial date-time
        ("1", date(1900, 1, 1)),
        ("59", date(1900, 2, 28)),
        ("61", date(1900, 3, 1)),  # after Excel's fictitious 29/02/1900
        ("29/02/2024", date(2024, 2, 29)),
        ("29/02/2000", date(2000, 2, 29)),
        ("  01/03/2022  ", date(2022, 3, 1)),
    ],
)
def test_accepted_dates(text: str, expected: date) -> None:
    assert parse_date_text(text) == (expected, None)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("31/02/2023", "date-invalide"),  # impossible: never a guess
        ("29/02/2023", "date-invalide"),
        ("29/02/1900", "date-invalide"),
        ("31/04/2023", "date-invalide"),
        ("00/01/2023", "date-invalide"),
        ("2023-13-01", "date-invalide"),
        ("60", "date-invalide"),  # the 29/02/1900 that Excel invented does not exist
        ("0", "date-invalide"),
        ("99999999", "date-invalide"),
        ("12/25/2022", "date-format-us"),  # MM/JJ/AAAA is not supported
        ("1/13/2023", "date-format-us"),
        ("13/13/2023", "date-invalide"),
        ("01/03-2022", "date-invalide"),  # mixed separators
        ("2022/03/01", "date-invalide"),
        ("hier", "date-invalide"),
        ("01/03/202", "date-invalide"),
        ("-45291", "date-invalide"),
    ],
)
def test_rejected_dates(text: str, code: str) -> None:
    assert parse_date_text(text) == (None, code)


@pytest.mark.parametrize("text", [None, "", "   ", "\u00a0"])
def test_empty_date_is_null_without_error(text: str | None) -> None:
    assert parse_date_text(text) == (None, None)


# -- Oui/Non (§3.2) --------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["Oui", "oui", "OUI", " Oui ", "O", "o", "X", "x", "Vrai", "VRAI", "Yes", "1", "1.0", "true", "TRUE"])
def test_true_spellings(text: str) -> None:
    assert parse_bool_value(text, SCHEMA) == (True, None)


@pytest.mark.parametrize("text", ["Non", "non", "NON", "N", "n", "Faux", "FAUX", "No", "0", "0.0", "false", "FALSE"])
def test_false_spellings(text: str) -> None:
    assert parse_bool_value(text, SCHEMA) == (False, None)


@pytest.mark.parametrize("text", ["Peut-être", "2", "?", "NA", "oui non", "-1"])
def test_bad_yes_no(text: str) -> None:
    assert parse_bool_value(text, SCHEMA) == (None, "oui-non-invalide")


def test_empty_yes_no_is_null_never_non() -> None:
    assert parse_bool_value(None, SCHEMA) == (None, None)
    assert parse_bool_value("  ", SCHEMA) == (None, None)


def test_resolve_bool_reads_every_yes_no_label_of_the_schema() -> None:
    for label in SCHEMA.true_labels:
        assert resolve_bool(SCHEMA, label) is True, label
    for label in SCHEMA.false_labels:
        assert resolve_bool(SCHEMA, label) is False, label


# -- categorical values (§3.4) ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("column", "text", "expected"),
    [
        ("programme", "CVG", "CVG"),
        ("programme", "convergence", "CVG"),
        ("programme", "CDDI-PHC", "PHC"),
        ("programme", "PREMIERES HEURES EN CHANTIER", "PHC"),
        ("sexe", "F", "Femme"),
        ("sexe", "masculin", "Homme"),
        ("nationalite", "Hors UE", "Hors Union européenne"),
        ("nationalite", "extra-ue", "Hors Union européenne"),
        ("orienteur", "Pôle emploi", "France Travail"),
        ("orienteur", "pole emploi", "France Travail"),
        ("orienteur", "SIAO", "Hébergement / AHI (SIAO, CHRS, CHU…)"),
        ("niveau_formation", "3", "3"),
        ("niveau_formation", "3.0", "3"),  # a number stored as a float
        ("niveau_formation", "V bis", "1-2"),
        ("niveau_formation", "Bac+2", "5-8"),
        ("motif_sortie", "CDD > 6 mois", "CDD de 6 mois ou plus"),
        ("motif_sortie", "CDD < 6 mois", "CDD de moins de 6 mois"),
        ("motif_sortie", "Au chômage", "Demandeur d'emploi"),
        ("logement_entree", "squat", "Rue"),
        ("res_logement", "partiellement résolue", "En cours de résolution"),
        ("duree_sans_emploi", "  plus de 24 MOIS ", "Plus de 24 mois"),
    ],
)
def test_categories_and_synonyms(column: str, text: str, expected: str) -> None:
    assert parse_category(text, SCHEMA, column) == (expected, None)


@pytest.mark.parametrize(("column", "text"), [("programme", "CVH"), ("sexe", "Autre"), ("motif_sortie", "CDD")])
def test_unknown_category(column: str, text: str) -> None:
    assert parse_category(text, SCHEMA, column) == (None, "valeur-inconnue")


def test_closest_value_is_suggested() -> None:
    assert closest_label("Mision locale", SCHEMA.domains["orienteur"]) == "Mission locale"
    assert closest_label("zzzzzz", SCHEMA.domains["orienteur"]) is None


# -- numbers (§3.5) --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [("20", 20.0), ("20.5", 20.5), ("20,5", 20.5), (" 20,5 ", 20.5), ("1 234,5", 1234.5),
     ("1\u00a0234,5", 1234.5), ("1\u202f234", 1234.0), ("-3", -3.0), ("+7", 7.0), (",5", 0.5), ("1e3", 1000.0)],
)
def test_numbers(text: str, expected: float) -> None:
    assert parse_number_text(text) == (expected, None)


@pytest.mark.parametrize("text", ["abc", "20h", "1,2,3", "inf", "nan", "1_000", "0x10", "20 %"])
def test_bad_numbers(text: str) -> None:
    assert parse_number_text(text) == (None, "nombre-invalide")


@pytest.mark.parametrize(("text", "expected"), [("1980", 1980), ("1980.0", 1980), ("1 980", 1980)])
def test_years(text: str, expected: int) -> None:
    assert parse_int_text(text) == (expected, None)


@pytest.mark.parametrize("text", ["1980.5", "dix-neuf", "1e12"])
def test_bad_years(text: str) -> None:
    assert parse_int_text(text) == (None, "entier-invalide")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1980-05-12 00:00:00", 1980), ("12/05/1980", 1980), ("12.05.1980", 1980), ("1980", 1980), ("29221", 1980)],
)
def test_birth_date_reduced_to_year(text: str, expected: int) -> None:
    assert parse_birth_year(text) == (expected, None)


def test_bad_birth_date() -> None:
    assert parse_birth_year("31/02/1980") == (None, "date-naissance-invalide")


# -- text ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [(" A001 ", "A001"), ("1234.0", "1234"), ("1234", "1234"), ("12.5", "12.5")])
def test_identifier_text(text: str, expected: str) -> None:
    assert parse_text(text) == expected


# -- SIRET -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", [SIRET, f"{SIRET[:3]} {SIRET[3:6]} {SIRET[6:9]} {SIRET[9:]}", f"{SIRET[:9]}.{SIRET[9:]}",
                                  f"{SIRET}.0", f"{SIRET[:3]}\u00a0{SIRET[3:]}"])
def test_siret_cleaned(text: str) -> None:
    assert siret_problem(text) == (SIRET, None)
    assert clean_siret(text) == SIRET


@pytest.mark.parametrize(
    ("text", "detail"),
    [(SIRET[:-1] + str((int(SIRET[-1]) + 1) % 10), "clé de contrôle"), (SIRET[:-1], "13 chiffres"), ("ABC", "chiffres")],
)
def test_bad_siret(text: str, detail: str) -> None:
    siret, problem = siret_problem(text)
    assert siret is None and problem is not None and detail in problem


@pytest.mark.parametrize(("digits", "ok"), [("79927398713", True), ("79927398710", False), ("", False), ("12a", False)])
def test_luhn(digits: str, ok: bool) -> None:
    assert luhn_valid(digits) is ok


# -- the whole frame -------------------------------------------------------------------------------------
def test_frame_has_every_column_typed_and_one_error_per_bad_cell() -> None:
    frame = pl.DataFrame(
        {
            "_ligne": [5, 6, 7],
            "id_salarie": ["A1", None, "A3"],
            "date_entree": ["2022-03-01 00:00:00", "31/02/2023", "12/25/2022"],
            "sexe": ["F", "Femme", "X"],
            "rsa": ["Oui", None, "Peut-être"],
            "heures_hebdo_entree": ["20", "20,5", "vingt"],
        },
        schema_overrides={"_ligne": pl.Int32},
    )
    out = normalise_frame(frame, SCHEMA)
    for col in SCHEMA.columns:
        assert col.name in out.columns
    assert out.schema["date_entree"] == pl.Date
    assert out.schema["heures_hebdo_entree"] == pl.Float64
    assert out.schema["annee_naissance"] == pl.Int32
    assert out.schema["rsa"] == pl.Boolean
    assert out["_ligne"].to_list() == [5, 6, 7]
    assert out["date_entree"].to_list() == [date(2022, 3, 1), None, None]
    assert out[ERR_PREFIX + "date_entree"].to_list() == [None, "date-invalide", "date-format-us"]
    assert out[ERR_PREFIX + "id_salarie"].to_list() == [None, "identifiant-manquant", None]
    assert out["sexe"].to_list() == ["Femme", "Femme", None]
    assert out[ERR_PREFIX + "sexe"].to_list() == [None, None, "valeur-inconnue"]
    assert out["rsa"].to_list() == [True, None, None]
    assert out[ERR_PREFIX + "rsa"].to_list() == [None, None, "oui-non-invalide"]
    assert out["heures_hebdo_entree"].to_list() == [20.0, 20.5, None]
    assert out[ERR_PREFIX + "heures_hebdo_entree"].to_list() == [None, None, "nombre-invalide"]
    # absent columns are null, never an invented value
    assert out["refugie"].null_count() == 3


def test_required_empty_cell_is_reported_once() -> None:
    frame = pl.DataFrame({"id_salarie": ["A1"], "programme": [None], "sexe": ["Z"]})
    out = normalise_frame(frame, SCHEMA)
    assert out[ERR_PREFIX + "programme"].to_list() == ["valeur-obligatoire"]
    assert out[ERR_PREFIX + "sexe"].to_list() == ["valeur-inconnue"]


def test_birth_date_column_and_year_column_from_different_files() -> None:
    frame = pl.DataFrame(
        {"annee_naissance": ["1980", None, None], BIRTH_PREFIX + "annee_naissance": [None, "12/05/1975", "31/02/1970"]}
    )
    out = normalise_frame(frame, SCHEMA)
    assert out["annee_naissance"].to_list() == [1980, 1975, None]
    assert out[ERR_PREFIX + "annee_naissance"].to_list() == [None, None, "date-naissance-invalide"]
    assert BIRTH_PREFIX + "annee_naissance" not in out.columns


def test_normalising_is_idempotent_on_canonical_values() -> None:
    frame = pl.DataFrame({"programme": ["convergence", "PHC"], "niveau_formation": ["CAP", "5"], "rsa": ["x", "non"]})
    once = normalise_frame(frame, SCHEMA)
    again = normalise_frame(
        once.select(pl.col("programme"), pl.col("niveau_formation"),
                    pl.col("rsa").replace_strict({True: "Oui", False: "Non"}, return_dtype=pl.Utf8)), SCHEMA)
    assert again.select("programme", "niveau_formation", "rsa").equals(once.select("programme", "niveau_formation", "rsa"))
