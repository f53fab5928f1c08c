"""One person, one identifier (issue 13, point 9): look-alike spellings of an `Identifiant salarié` are one
identifier for the duplicate rules and for the pseudonym; stores written before are migrated.

Before the fix (cvg_pipeline/read/identifiers.py), an identifier was only trimmed: a zero-width space, a
right-to-left mark, a soft hyphen, a decomposed accent, full-width letters or another case gave another
pseudonym and no duplicate error.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import unicodedata
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cvg_pipeline.ingest import run as ig
from cvg_pipeline.read.identifiers import PSEUDONYM_VERSION, normalise_column, normalise_identifier
from cvg_pipeline.schema.load import load_schema
from cvg_pipeline.store.db import STORE_SCHEMA_VERSION, open_store
from cvg_pipeline.store.pseudonyms import pseudonymise
from tests import inprocess
from tests.builders import SIRET, structure, valid_row, write_workbook
from tests.storefill import query

SCHEMA = load_schema()
TODAY = date(2024, 6, 1)
KEY = bytes(range(32))

INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u00ad", "\u2060", "\ufeff", "\u202a", "\u202c",
             "\u2066", "\u2069", "\u034f", "\ufe0f", "\u180e"]
SPACES = [" ", "\u00a0", "\u202f", "\u2009", "\u3000", "\t"]
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_/.éèàçÉÈôüñ"


def full_width(text: str) -> str:
    """ASCII letters, digits and punctuation as their full-width forms (U+FF01…U+FF5E)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@st.composite
def look_alike(draw: st.DrawFn) -> tuple[str, str]:
    """(an identifier, a spelling of it that looks the same or differs only by case)."""
    base = draw(st.text(alphabet=ALPHABET, min_size=1, max_size=12))
    variant = base
    if draw(st.booleans()):
        variant = unicodedata.normalize("NFD", variant)  # é → e + U+0301
    if draw(st.booleans()):
        variant = full_width(variant)
    if draw(st.booleans()):
        variant = "".join(c.swapcase() if draw(st.booleans()) else c for c in variant)
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(variant)))
        variant = variant[:at] + draw(st.sampled_from(INVISIBLE)) + variant[at:]
    variant = draw(st.sampled_from(["", *SPACES])) + variant + draw(st.sampled_from(["", *SPACES]))
    return base, variant


@settings(max_examples=300, deadline=None)
@given(pair=look_alike())
def test_look_alike_spellings_get_one_pseudonym(pair: tuple[str, str]) -> None:
    """Fails before the fix: the pseudonym was the HMAC of the identifier as written (only trimmed), so
    « AB12 » with a zero-width space, full-width or decomposed was another person."""
    base, variant = pair
    assert normalise_identifier(variant) == normalise_identifier(base)
    assert pseudonymise([variant], SIRET, KEY) == pseudonymise([base], SIRET, KEY)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=20))
def test_normalisation_is_idempotent_and_the_column_agrees(text: str) -> None:
    """Normalising twice changes nothing (a stored pseudonym is the same whether the reader normalised the
    identifier or not), and the vectorised column path gives exactly the scalar result (None when nothing
    is left). Fails before the fix: « a b » and « ab » had two pseudonyms (and the module did not exist)."""
    once = normalise_identifier(text)
    assert normalise_identifier(once) == once
    if once:
        assert pseudonymise([text], SIRET, KEY) == pseudonymise([once], SIRET, KEY)
    column = normalise_column(pl.Series("id_salarie", [text, None], dtype=pl.String)).to_list()
    assert column == [once or None, None]


@pytest.mark.parametrize("dtype", [pl.String, pl.Null])
def test_a_column_of_empty_cells_stays_empty(dtype: pl.DataType) -> None:
    """However polars typed it. Fails before the fix: the module did not exist."""
    values = pl.Series("id_salarie", [None, None], dtype=dtype)
    assert normalise_column(values).to_list() == [None, None]


@settings(max_examples=300, deadline=None)
@given(a=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_/.", min_size=1, max_size=10),
       b=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_/.", min_size=1, max_size=10))
def test_distinct_identifiers_stay_distinct(a: str, b: str) -> None:
    """Normalisation never makes two real identifiers one: distinct visible ASCII identifiers (up to case,
    which identifiers ignore) keep distinct values and distinct pseudonyms. Fails before the fix: the
    module did not exist."""
    if a == b:
        return
    assert normalise_identifier(a) != normalise_identifier(b)
    assert normalise_identifier(a) == a.lower()
    assert pseudonymise([a], SIRET, KEY) != pseudonymise([b], SIRET, KEY)


@pytest.mark.parametrize(
    ("spelling", "same_as"),
    [
        ("A\u200bB-0012", "AB-0012"),  # zero-width space
        ("\u200fAB-0012", "AB-0012"),  # right-to-left mark
        ("AB\u00ad-0012", "AB-0012"),  # soft hyphen
        ("ＡＢ－００１２", "AB-0012"),  # full width
        ("ab-0012", "AB-0012"),  # case
        ("AB 00 12", "AB0012"),  # inner spaces: ACIs group digits with them
        ("AB\u2011\u00a00012", "AB-0012"),  # non-breaking hyphen, no-break space
        ("JOSE\u0301-7", "josé-7"),  # decomposed accent
    ],
)
def test_examples_of_one_identifier(spelling: str, same_as: str) -> None:
    """Fails before the fix: each spelling gave its own pseudonym."""
    assert normalise_identifier(spelling) == normalise_identifier(same_as)
    assert pseudonymise([spelling], SIRET, KEY) == pseudonymise([same_as], SIRET, KEY)


@pytest.mark.parametrize(("a", "b"), [("josé-7", "jose-7"), ("AB-12", "AB12"), ("012", "12"), ("A.1", "A1")])
def test_what_stays_distinct(a: str, b: str) -> None:
    """Accents, punctuation and leading zeros are part of an identifier (a guard against over-folding)."""
    assert normalise_identifier(a) != normalise_identifier(b)


# -- end to end: a real workbook, the real command ---------------------------------------------------------

SPELLINGS = ["AB-0012", "ＡＢ-００１２", "A\u200bB-0012", "\u200fab-0012\u00ad"]


def cvg(*args: str) -> subprocess.CompletedProcess[str]:
    return inprocess.run(*args)  # through cli.main, in this process (tests/inprocess.py)


def init_store(store: Path) -> Path:
    from cvg_pipeline.store.db import create_store

    create_store(store)
    return store


@pytest.mark.parametrize(
    ("second", "code", "message"),
    [
        ({}, "doublon-parcours",
         "même identifiant salarié et même date d'entrée qu'à la ligne 2 : un parcours ne doit figurer qu'une fois."),
        ({"Date d'entrée": date(2022, 9, 1)}, "parcours-chevauchants",
         "ce parcours chevauche celui de la ligne 2 pour le même identifiant salarié"),
    ],
    ids=["same entry date", "overlapping"],
)
@pytest.mark.parametrize("spelling", SPELLINGS[1:], ids=["full width", "zero-width space", "RLM, case, soft hyphen"])
def test_one_person_under_two_spellings_is_a_duplicate(
    tmp_path: Path, spelling: str, second: dict[str, Any], code: str, message: str
) -> None:
    """Fails before the fix: the two rows were two people, the file was stored (exit 0) with two pseudonyms
    for one person."""
    store = init_store(tmp_path / "cvg.duckdb")
    path = write_workbook(tmp_path / "aci.xlsx", rows=[
        valid_row(**{"Identifiant salarié": SPELLINGS[0]}),
        valid_row(**{"Identifiant salarié": spelling, **second}),
    ])
    run = cvg("ingest", "--store", str(store), "--json", "--erreurs", str(tmp_path / "erreurs"), str(path))
    assert run.returncode == 1, run.stdout + run.stderr
    (found,) = json.loads(run.stdout)["fichiers"]
    assert found["statut"] == "rejeté"
    (problem,) = [p for p in found["problemes"] if p["code"] == code]
    assert problem["ligne"] == 3 and problem["colonne"] == "Identifiant salarié" and problem["valeur"] is None
    assert message in problem["message"]
    assert query(store, "SELECT count(*) FROM snapshots") == [(0,)]
    assert query(store, "SELECT count(*) FROM parcours") == [(0,)]
    for raw in SPELLINGS:  # no spelling of the identifier in any output
        assert raw not in run.stdout and raw not in run.stderr


def test_one_person_under_several_spellings_has_one_pseudonym(tmp_path: Path) -> None:
    """Two parcours of one person (left, came back), each row spelled its own way: one pseudonym, the
    HMAC of the normalised identifier. Fails before the fix: four pseudonyms for one person."""
    store = init_store(tmp_path / "cvg.duckdb")
    rows = [valid_row(**{"Identifiant salarié": s, "Date d'entrée": date(2019 + k, 1, 1),
                         "Date de sortie": date(2019 + k, 6, 30)})
            for k, s in enumerate(SPELLINGS)]
    result = ig.ingest_paths([write_workbook(tmp_path / "aci.xlsx", rows=rows)], store, schema=SCHEMA, today=TODAY)
    assert result.flatten() == [("aci.xlsx", "intégré", None)], [i.message for f in result.files for i in f.issues]
    assert result.exit_code == 0
    key = bytes.fromhex(query(store, "SELECT valeur FROM meta WHERE cle = 'cle_hmac'")[0][0])
    expected = hmac.new(key, f"{SIRET}\x1fab-0012".encode(), hashlib.sha256).hexdigest()
    assert query(store, "SELECT id_salarie, count(*) FROM parcours GROUP BY ALL") == [(expected, 4)]
    assert query(store, "SELECT version_pseudonymes FROM snapshots") == [(PSEUDONYM_VERSION,)]


def test_an_identifier_of_invisible_characters_only_is_missing(tmp_path: Path) -> None:
    """A cell holding only a zero-width space is no identifier: `identifiant-manquant`, as for an empty
    cell. Fails before the fix: the invisible character was the identifier, and the file was stored."""
    store = init_store(tmp_path / "cvg.duckdb")
    path = write_workbook(tmp_path / "aci.xlsx", rows=[valid_row(**{"Identifiant salarié": "\u200b\u200f"})])
    result = ig.ingest_paths([path], store, schema=SCHEMA, today=TODAY)
    (f,) = result.files
    assert f.statut == "rejeté" and result.exit_code == 1
    (error,) = [i for i in f.issues if i.is_error]
    assert (error.code, error.ligne) == ("identifiant-manquant", 2)
    assert error.message.endswith("la ligne contient des données mais pas d'identifiant salarié.")
    assert query(store, "SELECT count(*) FROM snapshots") == [(0,)]


# -- a store written before: migrated, its snapshots marked, never compared across versions ------------------

BEFORE = 2  # the store schema version before pseudonyms were versioned (store._migrate_pseudonym_version)
ENDED = [valid_row(**{"Identifiant salarié": f"E{i}", "Date de sortie": date(2023, 5, 31)}) for i in range(3)]


def aci_file(path: Path, arrete: date, rows: list[dict[str, Any]]) -> Path:
    return write_workbook(path, rows=rows, structure_fields=structure(**{"Date d'arrêté": arrete}))


def old_store(tmp_path: Path) -> Path:
    """A store as the cvg before the fix left it: June of one ACI stored with the pseudonyms of that time
    (HMAC of the identifier as written, « E0 »), schema version BEFORE, no `version_pseudonymes` column."""
    store = init_store(tmp_path / "cvg.duckdb")
    june = aci_file(tmp_path / "juin.xlsx", date(2023, 6, 30), ENDED)
    assert [f.statut for f in ig.ingest_paths([june], store, schema=SCHEMA, today=TODAY).files] == ["intégré"]
    con = duckdb.connect(str(store))
    try:
        key = bytes.fromhex(con.execute("SELECT valeur FROM meta WHERE cle = 'cle_hmac'").fetchall()[0][0])
        for row in ENDED:
            raw = str(row["Identifiant salarié"])
            old = hmac.new(key, f"{SIRET}\x1f{raw}".encode(), hashlib.sha256).hexdigest()
            con.execute("UPDATE parcours SET id_salarie = ? WHERE id_salarie = ?",
                        [old, pseudonymise([raw], SIRET, key)[0]])
        con.execute("ALTER TABLE snapshots DROP COLUMN version_pseudonymes")
        con.execute("UPDATE meta SET valeur = ? WHERE cle = 'schema_version'", [str(BEFORE)])
    finally:
        con.close()
    (tmp_path / "cvg.duckdb.empreintes").unlink(missing_ok=True)
    return store


def dump(store: Path, table: str) -> list[tuple[Any, ...]]:
    return sorted(query(store, f"SELECT * FROM {table}"), key=repr)


@pytest.mark.parametrize("read_only", [True, False])
def test_a_store_written_before_is_migrated_with_its_key(tmp_path: Path, read_only: bool) -> None:
    """Opening an older store (a reader too) migrates it in place: same key, same rows, and its snapshots
    marked as holding version-1 pseudonyms. Fails before the fix: no pseudonym version was recorded."""
    store = old_store(tmp_path)
    key, parcours = query(store, "SELECT valeur FROM meta WHERE cle = 'cle_hmac'"), dump(store, "parcours")
    snapshots = dump(store, "snapshots")
    with open_store(store, read_only=read_only) as con:
        assert con.execute("SELECT valeur FROM meta WHERE cle = 'schema_version'").fetchall() == [
            (str(STORE_SCHEMA_VERSION),)]
    assert query(store, "SELECT valeur FROM meta WHERE cle = 'cle_hmac'") == key
    assert dump(store, "parcours") == parcours
    assert dump(store, "snapshots") == [(*row, 1) for row in snapshots]


def test_a_failed_migration_leaves_the_store_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pseudonym migration runs in the store's migration transaction: if anything fails after it,
    the column is not added and the version stays. Fails before the fix: there was no migration to run."""
    from cvg_pipeline.check.errors import CvgError
    from cvg_pipeline.store import db as store_mod

    store = old_store(tmp_path)
    tables = {t: dump(store, t) for t in ("meta", "snapshots", "parcours")}
    real = store_mod.MIGRATIONS[BEFORE]

    def then_fail(con: duckdb.DuckDBPyConnection) -> None:
        real(con)
        raise RuntimeError("panne juste après la migration")

    monkeypatch.setitem(store_mod.MIGRATIONS, BEFORE, then_fail)
    with pytest.raises(CvgError, match="a échoué ; la base est restée telle quelle"), open_store(store, read_only=False):
        pass
    assert {t: dump(store, t) for t in tables} == tables
    assert query(store, "SELECT count(*) FROM duckdb_columns() WHERE column_name = 'version_pseudonymes'") == [(0,)]


def test_after_migration_a_cumulative_file_is_not_called_non_cumulative(tmp_path: Path) -> None:
    """The next file of an ACI whose previous snapshot holds old pseudonyms: « E0 » is now « e0 », so a
    comparison would find every ended parcours missing. It is not made and the file says so; the file is
    stored with the new pseudonyms, and the month after is compared again. Fails before the fix (no
    migration); fails without the version check (a false `fichier-non-cumulatif`, parcours manquants : 3)."""
    store = old_store(tmp_path)
    dec = aci_file(tmp_path / "dec.xlsx", date(2023, 12, 31), ENDED)
    run = cvg("ingest", "--store", str(store), "--json", str(dec))
    assert run.returncode == 0, run.stdout + run.stderr
    (found,) = json.loads(run.stdout)["fichiers"]
    assert found["statut"] == "intégré"
    assert [(p["code"], p["gravite"]) for p in found["problemes"]] == [("cumul-non-verifie", "avertissement")]
    assert ("Le contrôle « fichier cumulatif » n'a pas pu être fait : le fichier précédent de cette structure "
            "(date d'arrêté 30/06/2023) a été intégré par une version de cvg qui ne normalisait pas encore") in (
        found["problemes"][0]["message"])
    assert query(store, "SELECT fichier, version_pseudonymes, avertissements FROM snapshots ORDER BY 1") == [
        ("dec.xlsx", PSEUDONYM_VERSION, '{"cumul-non-verifie": 1}'), ("juin.xlsx", 1, "{}")]
    key = bytes.fromhex(query(store, "SELECT valeur FROM meta WHERE cle = 'cle_hmac'")[0][0])
    assert sorted(r[0] for r in query(
        store, "SELECT id_salarie FROM parcours JOIN snapshots USING (snapshot_id) WHERE fichier = 'dec.xlsx'"
    )) == sorted(hmac.new(key, f"{SIRET}\x1fe{i}".encode(), hashlib.sha256).hexdigest() for i in range(3))
    # the month after is compared with December (same version): a dropped parcours is found again
    jan = aci_file(tmp_path / "janv.xlsx", date(2024, 1, 31), ENDED[:2])
    (f,) = ig.ingest_paths([jan], store, schema=SCHEMA, today=TODAY).files
    assert [(i.code, i.message.split("(parcours manquants : ")[1][:1]) for i in f.issues] == [
        ("fichier-non-cumulatif", "1")]
