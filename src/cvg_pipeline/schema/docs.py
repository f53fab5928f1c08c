"""Human-readable descriptions of the schema, shared by the README column reference and the template.

`python -m cvg_pipeline.schema.docs` rewrites the README section between `<!-- colonnes:debut -->` and
`<!-- colonnes:fin -->` from the schema (`src/cvg_pipeline/schemas/`); `python -m cvg_pipeline.schema.docs --verifier` exits 1 when the README
is out of date. Pure standard library (imported by the template writer and by a test).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path

from cvg_pipeline.schema.load import Column, ColumnType, Schema, load_schema

# A maintainer's tool: the README of the source checkout (`make readme`), not part of an installed wheel.
README_PATH = Path(__file__).resolve().parents[3] / "README.md"
BEGIN_MARKER = "<!-- colonnes:debut -->"
END_MARKER = "<!-- colonnes:fin -->"

# French names of the column types and rules (presentation only; the types themselves live in the schema file).
TYPE_LABELS: dict[ColumnType, str] = {
    "text": "Texte",
    "cat": "Liste de valeurs",
    "date": "Date",
    "number": "Nombre",
    "int": "Année",
    "bool": "Oui / Non",
}
RULE_LABELS = {"requis": "Obligatoire", "si_sortie": "Si sortie", "facultatif": "Facultatif"}
STRUCTURE_TYPE_LABELS = {
    "text": "Texte",
    "siret": "SIRET (14 chiffres)",
    "territoire": "Territoire",
    "date": "Date",
    "supports": "Liste séparée par « ; »",
}
DATE_FORMAT_HINT = "JJ/MM/AAAA"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value).replace(".", ",")


def type_label(column: Column) -> str:
    return TYPE_LABELS[column.type]


def rule_label(column: Column) -> str:
    return RULE_LABELS[column.rule]


def accepted_values(schema: Schema, column: Column) -> str:
    """What a cell of this column may hold, in French (canonical values for lists)."""
    if column.type == "cat":
        return " ; ".join(schema.domain_of(column).labels)
    if column.type == "bool":
        return f"{schema.true_labels[0]} / {schema.false_labels[0]}"
    if column.type == "date":
        return f"Date ({DATE_FORMAT_HINT})"
    if column.type in ("number", "int"):
        if column.min is not None and column.max is not None:
            return f"De {_number(column.min)} à {_number(column.max)}"
        return "Année sur 4 chiffres (AAAA)" if column.type == "int" else "Nombre"
    return "Texte libre"


def column_notes(schema: Schema, column: Column) -> str:
    """The column's help text and the rules that tie it to other columns, in French."""
    notes: list[str] = []
    if column.help:
        notes.append(column.help)
    if column.exit_only and column.rule != "si_sortie":
        notes.append("À remplir seulement pour un parcours terminé (avec une date de sortie).")
    if column.rule == "si_sortie":
        notes.append("Obligatoire quand la date de sortie est remplie, vide sinon.")
    if column.only_if is not None:
        condition = schema.column(column.only_if).label
        sentence = f"Seulement si « {condition} » vaut {schema.true_labels[0]}."
        if sentence not in " ".join(notes):
            notes.append(sentence)
    return " ".join(notes)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> list[str]:
    head = list(header)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines.extend("| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows)
    return lines


def _synonyms(items: Iterable[str]) -> str:
    return ", ".join(f"`{s}`" for s in items)


def render_columns(schema: Schema) -> str:
    """The README column reference (Markdown), generated from the schema."""
    out: list[str] = [
        f"*Généré depuis `src/cvg_pipeline/schemas/{schema.path.name}` (version {schema.version}) par "
        "`python -m cvg_pipeline.schema.docs` (`make readme`) : ne pas modifier à la main.*",
        "",
        f"### Feuille « {schema.structure_sheet.label} »",
        "",
        f"Deux colonnes, « {schema.structure_field_header} » et « {schema.structure_value_header} », "
        "un champ par ligne.",
        "",
    ]
    out += _md_table(
        ("Champ", "Obligatoire", "Type", "Autres intitulés acceptés"),
        (
            (f.label, "Oui" if f.required else "Non", STRUCTURE_TYPE_LABELS[f.type], _synonyms(f.synonyms))
            for f in schema.structure_fields
        ),
    )
    out += ["", f"### Feuille « {schema.salaries_sheet.label} » : une ligne par parcours", ""]
    groups: dict[str, list[Column]] = {}
    for col in schema.columns:
        groups.setdefault(col.group, []).append(col)
    for group, cols in groups.items():
        out += [f"#### {group}", ""]
        out += _md_table(
            ("Intitulé du modèle", "Nom", "Type", "Règle", "Valeurs acceptées", "Autres intitulés acceptés", "Remarques"),
            (
                (
                    c.label,
                    f"`{c.name}`",
                    type_label(c),
                    rule_label(c),
                    accepted_values(schema, c),
                    _synonyms((*c.synonyms, *c.date_synonyms)),
                    column_notes(schema, c),
                )
                for c in cols
            ),
        )
        out.append("")
    out += [
        "### Oui / Non",
        "",
        f"Vrai : {_synonyms(schema.true_labels)}. Faux : {_synonyms(schema.false_labels)}. Vide : non renseigné.",
        "",
        "### Valeurs des listes et leurs synonymes",
        "",
    ]
    used = sorted({c.domain for c in schema.columns if c.domain}, key=lambda d: list(schema.domains).index(d))
    for name in used:
        domain = schema.domains[name]
        used_by = [c.label for c in schema.columns if c.domain == name]
        where = ", ".join(f"« {label} »" for label in used_by) if len(used_by) <= 3 else f"{len(used_by)} colonnes"
        out += [f"#### `{name}` ({where})", ""]
        if name == "motif_sortie":
            cats = {c.key: c for c in schema.exit_categories}
            rows = (
                (
                    v.label,
                    cats[v.category].label + (" (sortie dynamique)" if cats[v.category].dynamic else "")
                    if v.category
                    else "",
                    _synonyms(v.synonyms),
                )
                for v in domain.values
            )
            out += _md_table(("Valeur", "Catégorie", "Synonymes acceptés"), rows)
        elif any(v.rank is not None for v in domain.values):
            out += _md_table(
                ("Rang", "Valeur", "Synonymes acceptés"),
                ((str(v.rank), v.label, _synonyms(v.synonyms)) for v in domain.values),
            )
        else:
            out += _md_table(("Valeur", "Synonymes acceptés"), ((v.label, _synonyms(v.synonyms)) for v in domain.values))
        out.append("")
    out += ["### Supports d'activité", ""]
    out += _md_table(
        ("Valeur", "Synonymes acceptés"), ((v.label, _synonyms(v.synonyms)) for v in schema.domains["supports"].values)
    )
    out += ["", "### Territoires", ""]
    out += _md_table(
        ("Code (`--territoire`)", "Nom", "Synonymes acceptés"),
        ((f"`{t.slug}`", t.name, _synonyms(t.synonyms)) for t in schema.territoires),
    )
    notes = [c for c in schema.exit_categories if c.note]
    if notes:
        out.append("")
        out += [f"Note — {c.label} : {c.note}" for c in notes]
    return "\n".join(out).rstrip() + "\n"


def replace_section(readme: str, section: str) -> str:
    """Put `section` between the markers of `readme`; raise ValueError when a marker is missing."""
    start = readme.find(BEGIN_MARKER)
    end = readme.find(END_MARKER)
    if start < 0 or end < start:
        raise ValueError(f"README : marqueurs {BEGIN_MARKER} / {END_MARKER} introuvables.")
    return readme[: start + len(BEGIN_MARKER)] + "\n" + section + readme[end:]


def update_readme(path: Path = README_PATH, schema: Schema | None = None, *, check: bool = False) -> bool:
    """Rewrite (or with `check`, only compare) the generated section. Return True when it was up to date."""
    schema = schema or load_schema()
    current = path.read_text(encoding="utf-8")
    wanted = replace_section(current, render_columns(schema))
    if wanted == current:
        return True
    if not check:
        path.write_text(wanted, encoding="utf-8")
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Régénère la référence des colonnes du README depuis le schéma.")
    parser.add_argument("--readme", type=Path, default=README_PATH)
    parser.add_argument("--verifier", action="store_true", help="ne rien écrire ; code 1 si le README est périmé")
    args = parser.parse_args(argv)
    up_to_date = update_readme(args.readme, check=args.verifier)
    if args.verifier and not up_to_date:
        print("README.md n'est pas à jour : lancez « make readme ».", file=sys.stderr)
        return 1
    print("README.md à jour." if up_to_date else "README.md régénéré.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
