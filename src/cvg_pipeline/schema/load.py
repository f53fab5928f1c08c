"""Load the schema file (`cvg_pipeline/schemas/reporting.toml`) into typed, immutable objects.

This module is the only place that knows the layout of the schema file. Everything else (reader,
normaliser, validation, store, template, README, indicators, report) asks the `Schema` object. No column
name, label, synonym or category is written in Python outside this loader.

Pure standard library: importing it costs nothing, so the CLI can use it for `--help` texts.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, TypeVar

from cvg_pipeline.schema.file import SCHEMA_ENV as SCHEMA_ENV  # re-exported
from cvg_pipeline.schema.file import default_schema_path as default_schema_path  # re-exported
from cvg_pipeline.schema.file import read_raw, schema_path

_T = TypeVar("_T")

ColumnType = Literal["text", "cat", "date", "number", "int", "bool"]
Rule = Literal["requis", "si_sortie", "facultatif"]
StructureType = Literal["text", "siret", "territoire", "date", "supports"]


_FOLD_CHARS = re.compile(r"[·.\-'’()/°,;:_\"«»…\s]+")
_SLUG_CHARS = re.compile(r"[^0-9a-z]+")
_COMPARISON = re.compile(r"([<>≤≥=]+)")


class SchemaFileError(ValueError):
    """The schema file itself is inconsistent (raised at load time, a developer's error)."""


@lru_cache(maxsize=65_536)  # headers, labels and values repeat from file to file; folding costs ~60 µs
def fold(text: str) -> str:
    """Fold a header, label or value for matching (spec §3.1).

    Case, accents, `·`, `.`, `-`, `'`, `’`, `(`, `)`, `/` (and `°`, `,`, `;`, `:`, `_`, quotes) and runs of
    spaces are ignored. Comparison signs (`<`, `>`, `≥`) and `+` are kept: `CDD < 6 mois` ≠ `CDD > 6 mois`.
    """
    decomposed = unicodedata.normalize("NFKD", text.replace("œ", "oe").replace("Œ", "OE"))
    no_accents = "".join(c for c in decomposed if not unicodedata.combining(c))
    spaced = _COMPARISON.sub(r" \1 ", no_accents.lower())  # `CDD<6 mois` = `CDD < 6 mois`
    return _FOLD_CHARS.sub(" ", spaced).strip()


def closest(raw: str, spellings: Mapping[str, _T], cutoff: float = 0.6) -> _T | None:
    """What the folded spelling closest to `raw` stands for, if any is close enough (the « vouliez-vous
    dire » of the messages); `spellings` maps folded spellings to what they stand for."""
    import difflib

    found = difflib.get_close_matches(fold(raw), list(spellings), n=1, cutoff=cutoff)
    return spellings[found[0]] if found else None


def slugify(text: str) -> str:
    """The JSON key of a canonical value (indicators §3): lower case, no accents, `_` for the rest."""
    decomposed = unicodedata.normalize("NFKD", text.replace("œ", "oe").replace("Œ", "OE"))
    no_accents = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SLUG_CHARS.sub("_", no_accents.lower()).strip("_")


@dataclass(frozen=True)
class Value:
    """One canonical value of a categorical domain."""

    label: str  # canonical label, what is stored
    key: str  # JSON slug
    synonyms: tuple[str, ...]
    rank: int | None = None  # housing typology
    category: str | None = None  # exit motifs: key of an ExitCategory


@dataclass(frozen=True)
class Domain:
    name: str
    values: tuple[Value, ...]
    lookup: Mapping[str, Value]  # folded label or synonym -> value

    def match(self, raw: str) -> Value | None:
        return self.lookup.get(fold(raw))

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(v.label for v in self.values)

    def by_label(self, label: str) -> Value:
        for value in self.values:
            if value.label == label:
                return value
        raise KeyError(label)


@dataclass(frozen=True)
class Column:
    """One column of sheet Salariés."""

    name: str  # canonical name
    label: str  # template label
    type: ColumnType
    rule: Rule
    group: str
    synonyms: tuple[str, ...]
    domain: str | None = None
    min: float | None = None
    max: float | None = None
    exit_only: bool = False  # must be empty on a row without Date de sortie
    only_if: str | None = None  # name of a bool column that must be Oui for this one to be filled
    date_synonyms: tuple[str, ...] = ()  # headers holding a full date reduced to its year (annee_naissance)
    help: str | None = None

    @property
    def required(self) -> bool:
        return self.rule == "requis"


@dataclass(frozen=True)
class StructureField:
    name: str
    label: str
    type: StructureType
    required: bool
    synonyms: tuple[str, ...]


@dataclass(frozen=True)
class Territoire:
    slug: str
    name: str
    synonyms: tuple[str, ...]


@dataclass(frozen=True)
class ExitCategory:
    key: str
    label: str
    dynamic: bool
    note: str | None = None


@dataclass(frozen=True)
class Difficulty:
    key: str
    label: str
    entry_column: str  # diff_<key>
    exit_column: str  # res_<key>


@dataclass(frozen=True)
class SheetSpec:
    label: str
    synonyms: tuple[str, ...]

    def matches(self, sheet_name: str) -> bool:
        folded = fold(sheet_name).replace(" ", "")
        return any(fold(s).replace(" ", "") == folded for s in (self.label, *self.synonyms))


@dataclass(frozen=True)
class HeaderMatch:
    """What a header of sheet Salariés is: a column, a date of birth to reduce, an identifier, or unknown."""

    kind: Literal["column", "birth_date", "identifier", "unknown"]
    column: Column | None = None


@dataclass(frozen=True)
class Schema:
    version: int
    path: Path
    structure_sheet: SheetSpec
    structure_field_header: str  # "Champ"
    structure_value_header: str  # "Valeur"
    salaries_sheet: SheetSpec
    header_search_rows: int
    header_min_labels: int
    true_labels: tuple[str, ...]  # as written in the schema ("Oui" first: the template's spelling)
    false_labels: tuple[str, ...]
    true_values: frozenset[str]  # folded
    false_values: frozenset[str]  # folded
    identifier_patterns: tuple[str, ...]  # folded
    structure_fields: tuple[StructureField, ...]
    territoires: tuple[Territoire, ...]
    domains: Mapping[str, Domain]
    exit_categories: tuple[ExitCategory, ...]
    difficulties: tuple[Difficulty, ...]
    columns: tuple[Column, ...]
    _column_lookup: Mapping[str, Column] = field(repr=False)
    _birth_date_lookup: Mapping[str, Column] = field(repr=False)
    _structure_lookup: Mapping[str, StructureField] = field(repr=False)
    _territoire_lookup: Mapping[str, Territoire] = field(repr=False)

    # -- lookups ------------------------------------------------------------------------------------------
    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    def domain_of(self, column: Column) -> Domain:
        if column.domain is None:
            raise KeyError(f"{column.name} has no domain")
        return self.domains[column.domain]

    def match_header(self, header: str) -> HeaderMatch:
        """Resolve a header of sheet Salariés as written (spec §3.1). Identifiers are checked first."""
        folded = fold(header)
        if not folded:
            return HeaderMatch("unknown")
        if self.is_identifier_header(header):
            return HeaderMatch("identifier")
        column = self._column_lookup.get(folded)
        if column is not None:
            return HeaderMatch("column", column)
        column = self._birth_date_lookup.get(folded)
        if column is not None:
            return HeaderMatch("birth_date", column)
        return HeaderMatch("unknown")

    def is_identifier_header(self, header: str) -> bool:
        folded = fold(header)
        if folded in self._column_lookup or folded in self._birth_date_lookup:
            return False
        return any(folded == p or folded.startswith(p + " ") for p in self.identifier_patterns)

    def match_structure_field(self, label: str) -> StructureField | None:
        return self._structure_lookup.get(fold(label))

    def match_territoire(self, raw: str) -> Territoire | None:
        return self._territoire_lookup.get(fold(raw))

    def closest_territoire(self, raw: str, cutoff: float = 0.6) -> Territoire | None:
        """The territoire whose name, code or synonym is closest to `raw` (for « vouliez-vous dire »)."""
        return closest(raw, self._territoire_lookup, cutoff)

    def territoire(self, slug: str) -> Territoire:
        for terr in self.territoires:
            if terr.slug == slug:
                return terr
        raise KeyError(slug)

    def parse_bool(self, raw: str) -> bool | None:
        """Oui/Non as text (spec §3.2): True, False, or None when the text is not a yes/no spelling."""
        folded = fold(raw)
        if folded in self.true_values:
            return True
        if folded in self.false_values:
            return False
        return None



def _build_lookup(entries: Iterable[tuple[str, Any]], what: str) -> MappingProxyType[str, Any]:
    lookup: dict[str, Any] = {}
    for text, target in entries:
        key = fold(text)
        if not key:
            raise SchemaFileError(f"{what}: empty label")
        if key in lookup and lookup[key] is not target:
            raise SchemaFileError(f"{what}: « {text} » is ambiguous (already used by another entry)")
        lookup[key] = target
    return MappingProxyType(lookup)


def _domain(name: str, raw: Mapping[str, Any]) -> Domain:
    values = tuple(
        Value(
            label=v["valeur"],
            key=v.get("cle") or slugify(v["valeur"]),
            synonyms=tuple(v.get("synonymes", ())),
            rank=v.get("rang"),
            category=v.get("categorie"),
        )
        for v in raw["valeurs"]
    )
    lookup = _build_lookup(((s, v) for v in values for s in (v.label, *v.synonyms)), f"domain {name}")
    return Domain(name=name, values=values, lookup=lookup)


def _column(raw: Mapping[str, Any], subst: Mapping[str, str] | None = None) -> Column:
    def s(text: str) -> str:
        return text.format(**subst) if subst else text

    return Column(
        name=s(raw["nom"]),
        label=s(raw["libelle"]),
        type=raw["type"],
        rule=raw.get("regle", "facultatif"),
        group=raw["groupe"],
        synonyms=tuple(s(x) for x in raw.get("synonymes", ())),
        domain=raw.get("domaine"),
        min=raw.get("min"),
        max=raw.get("max"),
        exit_only=bool(raw.get("si_sortie_seul", False)),
        only_if=s(raw["seulement_si"]) if "seulement_si" in raw else None,
        date_synonyms=tuple(raw.get("synonymes_date", ())),
        help=raw.get("aide"),
    )


def _columns(data: Mapping[str, Any]) -> tuple[tuple[Column, ...], tuple[Difficulty, ...]]:
    diff = data["difficultes"]
    difficulties: list[Difficulty] = []
    entry_cols: list[Column] = []
    exit_cols: list[Column] = []
    for d in diff["valeurs"]:
        subst = {"cle": d["cle"], "libelle": d["libelle"]}
        entry = _column({"type": "bool", "groupe": "Difficultés", **diff["entree"]}, subst)
        exit_ = _column({"type": "cat", "groupe": "Difficultés", **diff["sortie"]}, subst)
        entry_cols.append(entry)
        exit_cols.append(exit_)
        difficulties.append(Difficulty(d["cle"], d["libelle"], entry.name, exit_.name))
    columns: list[Column] = []
    for raw in data["colonnes"]:
        columns.append(_column(raw))
        if raw["nom"] == diff["apres"]:
            columns.extend(entry_cols)
            columns.extend(exit_cols)
    return tuple(columns), tuple(difficulties)


def _check(schema: Schema) -> None:
    names = [c.name for c in schema.columns]
    if len(set(names)) != len(names):
        raise SchemaFileError("duplicate column name")
    for col in schema.columns:
        if col.type == "cat" and (col.domain is None or col.domain not in schema.domains):
            raise SchemaFileError(f"column {col.name}: unknown domain {col.domain!r}")
        if col.only_if is not None and schema.column(col.only_if).type != "bool":
            raise SchemaFileError(f"column {col.name}: seulement_si must name a bool column")
    cat_keys = {c.key for c in schema.exit_categories}
    for value in schema.domains["motif_sortie"].values:
        if value.category not in cat_keys:
            raise SchemaFileError(f"motif {value.label}: unknown category {value.category!r}")
    for value in schema.domains["logement"].values:
        if value.rank is None:
            raise SchemaFileError(f"logement {value.label}: no rang")
    if schema.true_values & schema.false_values:
        raise SchemaFileError("oui_non: a spelling is both true and false")


def load_schema(path: Path | str | None = None) -> Schema:
    """Load and check a schema file (default: `$CVG_SCHEMA` or `schemas/reporting.toml`)."""
    return _load(schema_path(path))


@cache
def _load(path: Path) -> Schema:
    data = read_raw(path)
    columns, difficulties = _columns(data)
    domains = {name: _domain(name, raw) for name, raw in data["domaines"].items()}
    structure_fields = tuple(
        StructureField(f["nom"], f["libelle"], f["type"], bool(f["requis"]), tuple(f.get("synonymes", ())))
        for f in data["structure"]
    )
    territoires = tuple(Territoire(t["slug"], t["nom"], tuple(t.get("synonymes", ()))) for t in data["territoires"])
    feuilles = data["feuilles"]
    oui_non = data["oui_non"]
    schema = Schema(
        version=int(data["version"]),
        path=path,
        structure_sheet=SheetSpec(feuilles["structure"]["libelle"], tuple(feuilles["structure"]["synonymes"])),
        structure_field_header=feuilles["structure"]["champ"],
        structure_value_header=feuilles["structure"]["valeur"],
        salaries_sheet=SheetSpec(feuilles["salaries"]["libelle"], tuple(feuilles["salaries"]["synonymes"])),
        header_search_rows=int(feuilles["salaries"]["lignes_entete"]),
        header_min_labels=int(feuilles["salaries"]["min_libelles"]),
        true_labels=tuple(oui_non["vrai"]),
        false_labels=tuple(oui_non["faux"]),
        true_values=frozenset(fold(x) for x in oui_non["vrai"]),
        false_values=frozenset(fold(x) for x in oui_non["faux"]),
        identifier_patterns=tuple(fold(x) for x in data["identifiants"]["libelles"]),
        structure_fields=structure_fields,
        territoires=territoires,
        domains=MappingProxyType(domains),
        exit_categories=tuple(
            ExitCategory(c["cle"], c["libelle"], bool(c["dynamique"]), c.get("note"))
            for c in data["categories_sortie"]["valeurs"]
        ),
        difficulties=difficulties,
        columns=columns,
        _column_lookup=_build_lookup(
            ((s, c) for c in columns for s in (c.name, c.label, *c.synonyms)), "columns"
        ),
        _birth_date_lookup=_build_lookup(
            ((s, c) for c in columns for s in c.date_synonyms), "birth date headers"
        ),
        _structure_lookup=_build_lookup(
            ((s, f) for f in structure_fields for s in (f.name, f.label, *f.synonyms)), "structure fields"
        ),
        _territoire_lookup=_build_lookup(
            ((s, t) for t in territoires for s in (t.slug, t.name, *t.synonyms)), "territoires"
        ),
    )
    _check(schema)
    return schema
