"""The analyst's month (`cvg suivi`): who has sent, who must correct, and how complete each ACI's data are.

Two tables serve it, both free of any cell value of the Salariés sheet:
- `refus`: one row per refused file (its latest receipt): file name and sha256, when, the SIRET, Structure
  name, territoire and Date d'arrêté when they could be read, the error codes with their counts, and the
  highest snapshot id at that moment (to tell what was stored after it). A refused file changes no snapshot
  and no indicator; a later accepted file of the same ACI, with the same Date d'arrêté or a later one, closes
  the refusal.
- `colonnes_fichier`: per stored snapshot, the columns its header had (canonical names). Absent is not blank:
  the number of rows with a value is read from `parcours` (null there means absent *or* blank), the header
  says which of the two. Snapshots stored before this table existed have no row: their completeness is
  unknown (`null`), never guessed.

Status of an ACI for month M (spec: issue « le mois de l'analyste »):
- `a_corriger`: a refusal newer than its latest accepted file (not closed as above);
- `a_jour`: its latest accepted Date d'arrêté is on or after the last day of M − 1;
- `en_retard`: older; `retard_mois` = months from that Date d'arrêté's month to M − 1 (at least 1).
"""

from __future__ import annotations

import calendar
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb

    from cvg_pipeline.ingest.run import FileResult
    from cvg_pipeline.read.model import ParsedFile
    from cvg_pipeline.schema.load import Schema

A_JOUR = "a_jour"
EN_RETARD = "en_retard"
A_CORRIGER = "a_corriger"
STATUS_LABELS = {A_JOUR: "à jour", EN_RETARD: "en retard", A_CORRIGER: "à corriger"}
LOW_FILL = 0.5  # a present column filled on fewer than half of the rows it applies to is « peu remplie »
# Columns whose blank is an answer, not a gap: no Date de sortie means the parcours is running.
BLANK_MEANS_SOMETHING = frozenset({"date_sortie"})

DDL = [
    "CREATE SEQUENCE IF NOT EXISTS refus_seq START 1",
    """CREATE TABLE IF NOT EXISTS refus (
    refus_id INTEGER PRIMARY KEY,
    recu_le TIMESTAMP NOT NULL,
    fichier VARCHAR NOT NULL,
    sha256 VARCHAR,
    siret VARCHAR,
    nom VARCHAR,
    territoire VARCHAR,
    date_arrete DATE,
    nb_erreurs INTEGER NOT NULL,
    codes VARCHAR NOT NULL,
    snapshot_max INTEGER NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS colonnes_fichier (
    snapshot_id INTEGER PRIMARY KEY,
    colonnes VARCHAR[] NOT NULL
)""",
]


def create_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the tables of this module when missing (store creation and migration)."""
    for stmt in DDL:
        con.execute(stmt)


# -- recording (called by ingest, inside its own transactions) ----------------------------------------------


def present_columns(pf: ParsedFile) -> list[str]:
    """Canonical names of the Salariés columns the file's header had (nothing of the rows)."""
    return sorted(pf.columns)


def record_refusals(con: duckdb.DuckDBPyConnection, files: Sequence[FileResult], now: datetime) -> int:
    """Remember every refused file of a run, without its content; return how many were recorded.

    Only what identifies the file and its sender, and the error codes with their counts: no cell value,
    no identifier, nothing of the rows. A file refused again replaces its earlier refusal (same sha256).
    """
    from cvg_pipeline.ingest.run import REJETE

    refused = [f for f in files if f.statut == REJETE]
    if not refused:
        return 0
    con.execute("BEGIN TRANSACTION")
    try:
        for f in refused:
            codes = Counter(i.code for i in f.errors)
            if f.sha256 is not None:
                con.execute("DELETE FROM refus WHERE sha256 = ?", [f.sha256])
            con.execute(
                "INSERT INTO refus VALUES (nextval('refus_seq'), ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                "(SELECT coalesce(max(snapshot_id), 0) FROM snapshots))",
                [
                    now,
                    f.fichier,
                    f.sha256,
                    f.siret,
                    f.structure,
                    f.territoire,
                    f.date_arrete,
                    sum(codes.values()),
                    json.dumps(dict(sorted(codes.items())), ensure_ascii=False),
                ],
            )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return len(refused)


# -- the month's view ---------------------------------------------------------------------------------------


@dataclass
class Refus:
    fichier: str
    recu_le: datetime
    date_arrete: date | None
    codes: dict[str, int]
    classeur_erreurs: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "fichier": self.fichier,
            "recu_le": self.recu_le.isoformat(timespec="seconds"),
            "date_arrete": self.date_arrete.isoformat() if self.date_arrete else None,
            "codes": self.codes,
            "classeur_erreurs": self.classeur_erreurs,
        }


@dataclass
class AciStatus:
    siret: str
    nom: str
    territoire: str | None  # slug
    derniere_date_arrete: date | None
    statut: str
    retard_mois: int | None
    lignes: int | None
    refus: list[Refus] = field(default_factory=list)
    colonnes_absentes: list[str] | None = None  # labels; None: unknown (snapshot stored before the record)
    colonnes_peu_remplies: list[str] | None = None
    completude: float | None = None  # share of the optional columns present

    def to_dict(self) -> dict[str, Any]:
        return {
            "siret": self.siret,
            "nom": self.nom,
            "territoire": self.territoire,
            "derniere_date_arrete": self.derniere_date_arrete.isoformat() if self.derniere_date_arrete else None,
            "statut": self.statut,
            "retard_mois": self.retard_mois,
            "lignes": self.lignes,
            "refus": [r.to_dict() for r in self.refus],
            "colonnes_absentes": self.colonnes_absentes,
            "colonnes_peu_remplies": self.colonnes_peu_remplies,
            "completude": None if self.completude is None else round(self.completude, 4),
        }


@dataclass
class Suivi:
    mois: str  # AAAA-MM
    attendu: date  # the Date d'arrêté an ACI must have reached to be à jour (last day of M − 1)
    aci: list[AciStatus]
    non_attribues: list[Refus]

    def counts(self) -> dict[str, int]:
        found = Counter(a.statut for a in self.aci)
        return {s: found.get(s, 0) for s in (A_JOUR, EN_RETARD, A_CORRIGER)}

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": 1,
            "mois": self.mois,
            "date_arrete_attendue": self.attendu.isoformat(),
            "statuts": self.counts(),
            "aci": [a.to_dict() for a in self.aci],
            "non_attribues": [r.to_dict() for r in self.non_attribues],
        }


def parse_mois(raw: str | None, today: date) -> tuple[int, int]:
    """`--mois AAAA-MM` (default: the month of `today`) → (year, month); a bad value is a UsageError."""
    from cvg_pipeline.check.errors import UsageError

    if raw is None:
        return today.year, today.month
    text = raw.strip()
    parts = text.split("-")
    if (
        len(parts) == 2
        and len(parts[0]) == 4
        and all(p.isascii() and p.isdigit() for p in parts)
        and len(parts[1]) <= 2
        and 1 <= int(parts[1]) <= 12
    ):
        return int(parts[0]), int(parts[1])
    raise UsageError(f"--mois attend un mois sous la forme AAAA-MM (par exemple 2024-03), pas « {raw} ».")


def expected_date(year: int, month: int) -> date:
    """The last day of the month before (year, month): what an ACI à jour for that month has sent."""
    year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return date(year, month, calendar.monthrange(year, month)[1])


def months_late(latest: date, expected: date) -> int:
    """Whole months from the month of `latest` to the month of `expected` (at least 1 when late)."""
    return max(1, (expected.year * 12 + expected.month) - (latest.year * 12 + latest.month))


def month_status(
    store_path: Path,
    *,
    mois: str | None = None,
    territoire: str | None = None,
    schema: Schema | None = None,
    today: date | None = None,
) -> Suivi:
    """`cvg suivi`: one status per ACI known to the store (by any accepted or refused file)."""
    from cvg_pipeline.schema.load import load_schema
    from cvg_pipeline.store.db import open_store
    from cvg_pipeline.workbooks.annotate import error_workbook_name

    schema = schema or load_schema()
    from cvg_pipeline.fr import aujourdhui

    year, month = parse_mois(mois, today or aujourdhui())
    attendu = expected_date(year, month)
    slug = None
    if territoire is not None:
        from cvg_pipeline.schema.territoires import resolve_territoire

        slug = resolve_territoire(schema, territoire)
    optional = [c for c in schema.columns if not c.required]
    labels = {c.name: c.label for c in schema.columns}
    with open_store(store_path, read_only=True) as con:
        latest = _latest_snapshots(con)
        refusals = _open_refusals(con)
        present = dict(
            con.execute(
                "SELECT c.snapshot_id, c.colonnes FROM colonnes_fichier c "
                "JOIN snapshots s USING (snapshot_id) "
                "WHERE (s.siret, s.date_arrete) IN (SELECT (siret, max(date_arrete)) FROM snapshots GROUP BY siret)"
            ).fetchall()
        )
        fill = _fill_counts(con, [row["snapshot_id"] for row in latest.values()], optional)

    non_attribues: list[Refus] = []
    by_siret: dict[str, list[tuple[Refus, dict[str, Any]]]] = {}
    for row in refusals:
        ref = Refus(
            fichier=row["fichier"],
            recu_le=row["recu_le"],
            date_arrete=row["date_arrete"],
            codes=json.loads(row["codes"]),
            classeur_erreurs=error_workbook_name(Path(row["fichier"])),
        )
        if row["siret"] is None:
            non_attribues.append(ref)
        else:
            by_siret.setdefault(row["siret"], []).append((ref, row))

    result: list[AciStatus] = []
    for siret in sorted(set(latest) | set(by_siret)):
        snap = latest.get(siret)
        refs = by_siret.get(siret, [])
        nom = snap["nom"] if snap else next((r["nom"] for _, r in reversed(refs) if r["nom"]), None) or siret
        terr = snap["territoire"] if snap else next((r["territoire"] for _, r in reversed(refs) if r["territoire"]), None)
        if slug is not None and terr != slug:
            continue
        status = AciStatus(
            siret=siret,
            nom=nom,
            territoire=terr,
            derniere_date_arrete=snap["date_arrete"] if snap else None,
            statut=A_JOUR,
            retard_mois=None,
            lignes=snap["nb_lignes"] if snap else None,
            refus=[r for r, _ in refs],
        )
        if refs:
            status.statut = A_CORRIGER
        elif snap is not None and snap["date_arrete"] < attendu:
            status.statut = EN_RETARD
            status.retard_mois = months_late(snap["date_arrete"], attendu)
        if snap is not None and snap["snapshot_id"] in present:
            header = set(present[snap["snapshot_id"]])
            absent = [c for c in optional if c.name not in header]
            status.colonnes_absentes = [labels[c.name] for c in absent]
            status.completude = (len(optional) - len(absent)) / len(optional) if optional else 1.0
            counts = fill.get(snap["snapshot_id"], {})
            status.colonnes_peu_remplies = [
                labels[c.name]
                for c in optional
                if c.name in header and c.name not in BLANK_MEANS_SOMETHING and _fill_rate(counts.get(c.name)) < LOW_FILL
            ]
        result.append(status)
    result.sort(key=lambda a: (a.territoire or "", a.nom.casefold(), a.siret))
    if slug is not None:
        non_attribues = []  # a refusal whose SIRET could not be read has no territoire either
    non_attribues.sort(key=lambda r: (r.recu_le, r.fichier))
    return Suivi(f"{year:04d}-{month:02d}", attendu, result, non_attribues)


def absent_columns(
    store_path: Path, snapshots: Sequence[Mapping[str, Any]], schema: Schema
) -> dict[str, list[str] | None]:
    """For the report's sources: SIRET → labels of the optional columns the header of its snapshot (SIRET,
    Date d'arrêté) lacked; None when the snapshot was stored before headers were recorded."""
    from cvg_pipeline.store.db import open_store

    optional = [c for c in schema.columns if not c.required]
    wanted = [(str(sn["siret"]), str(sn["date_arrete"])) for sn in snapshots]
    out: dict[str, list[str] | None] = dict.fromkeys((siret for siret, _ in wanted), None)
    if not wanted:
        return out
    with open_store(store_path, read_only=True) as con:
        rows = con.execute(
            "SELECT s.siret, c.colonnes FROM snapshots s JOIN colonnes_fichier c USING (snapshot_id) "
            "WHERE list_contains(?::VARCHAR[], s.siret || '|' || strftime(s.date_arrete, '%Y-%m-%d'))",
            [[f"{siret}|{day}" for siret, day in wanted]],
        ).fetchall()
    for siret, colonnes in rows:
        header = set(colonnes)
        out[siret] = [c.label for c in optional if c.name not in header]
    return out


def _fill_rate(counts: tuple[int, int] | None) -> float:
    if counts is None:
        return 1.0
    filled, applicable = counts
    return 1.0 if applicable == 0 else filled / applicable


def _latest_snapshots(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    cur = con.execute(
        "SELECT snapshot_id, siret, nom, territoire, date_arrete, nb_lignes, ingere_le FROM snapshots "
        "QUALIFY row_number() OVER (PARTITION BY siret ORDER BY date_arrete DESC, ingere_le DESC) = 1"
    )
    names = [d[0] for d in cur.description]
    return {row[1]: dict(zip(names, row, strict=True)) for row in cur.fetchall()}


def _open_refusals(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Refusals not closed: a refusal is closed by an accepted file of the same ACI with a later Date d'arrêté,
    or with the same one (or any, when the refused file's could not be read) stored after the refusal.
    « After » is told by snapshot ids (a sequence), not by clocks: two runs can fall in the same second."""
    cur = con.execute(
        "SELECT r.fichier, r.recu_le, r.siret, r.nom, r.territoire, r.date_arrete, r.codes FROM refus r "
        "WHERE NOT EXISTS (SELECT 1 FROM snapshots s WHERE s.siret = r.siret AND (s.date_arrete > r.date_arrete "
        "OR (s.snapshot_id > r.snapshot_max AND (r.date_arrete IS NULL OR s.date_arrete >= r.date_arrete)))) "
        "AND NOT EXISTS (SELECT 1 FROM snapshots s WHERE s.sha256 = r.sha256) "
        "ORDER BY r.recu_le, r.fichier"
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _fill_counts(
    con: duckdb.DuckDBPyConnection, snapshot_ids: Sequence[int], columns: Sequence[Any]
) -> dict[int, dict[str, tuple[int, int]]]:
    """Per snapshot and optional column: (rows with a value, rows the column applies to).

    A column filled only at exit (`exit_only`) applies to the rows with a Date de sortie; one filled only if
    another is Oui (`only_if`: a difficulty at exit, the situation at the post-sortie contact) to those rows."""
    if not snapshot_ids or not columns:
        return {}
    parts = []
    for c in columns:
        conditions = (["date_sortie IS NOT NULL"] if c.exit_only else []) + (
            [f'"{c.only_if}" IS TRUE'] if c.only_if else []
        )
        applicable = f"count(*) FILTER (WHERE {' AND '.join(conditions)})" if conditions else "count(*)"
        parts.append(f'count("{c.name}"), {applicable}')
    rows = con.execute(
        f"SELECT snapshot_id, {', '.join(parts)} FROM parcours "
        "WHERE list_contains(?::INTEGER[], snapshot_id) GROUP BY snapshot_id",
        [list(snapshot_ids)],
    ).fetchall()
    out: dict[int, dict[str, tuple[int, int]]] = {}
    for row in rows:
        values = row[1:]
        out[row[0]] = {c.name: (int(values[2 * k]), int(values[2 * k + 1])) for k, c in enumerate(columns)}
    return out


# -- reminders ----------------------------------------------------------------------------------------------


def relance_text(aci: AciStatus, suivi: Suivi, territoire_name: str | None) -> str:
    """The French text the analyst sends to a late ACI or one whose file must be corrected."""
    from cvg_pipeline.fr import date_longue as date_fr
    from cvg_pipeline.fr import pluriel

    lines = [f"Objet : reporting CVG / PHC de {aci.nom} — {_mois_fr(suivi.mois)}", "", "Bonjour,", ""]
    attendu = date_fr(suivi.attendu)
    if aci.statut == A_CORRIGER:
        lines.append(
            f"Le fichier de reporting que vous nous avez envoyé n'a pas pu être intégré : "
            f"{'il contient' if len(aci.refus) == 1 else 'ils contiennent'} des erreurs à corriger."
        )
        lines.append("")
        for ref in aci.refus:
            arrete = f", arrêté au {date_fr(ref.date_arrete)}" if ref.date_arrete else ""
            codes = ", ".join(f"{code} × {n}" for code, n in sorted(ref.codes.items(), key=lambda kv: (-kv[1], kv[0])))
            total = sum(ref.codes.values())
            lines.append(f"- « {ref.fichier} »{arrete} : {pluriel(total, 'erreur')} ({codes}).")
            lines.append(f"  Le détail, cellule par cellule, est dans le classeur joint « {ref.classeur_erreurs} ».")
        lines += [
            "",
            "Merci de corriger votre fichier d'origine (pas le classeur d'erreurs) et de nous le renvoyer.",
        ]
    else:
        derniere = date_fr(aci.derniere_date_arrete) if aci.derniere_date_arrete else "aucune"
        lines.append(
            f"Nous n'avons pas encore reçu votre fichier de reporting arrêté au {attendu} : le dernier intégré est "
            f"arrêté au {derniere} ({pluriel(aci.retard_mois or 0, 'mois', 'mois')} de retard)."
        )
        lines += ["", "Merci de nous envoyer votre fichier à jour (tous les parcours, y compris ceux terminés)."]
    if aci.colonnes_absentes:
        lines += [
            "",
            "Pour information, votre fichier ne contient pas ces colonnes facultatives, utiles aux indicateurs "
            "du programme : " + ", ".join(f"« {c} »" for c in aci.colonnes_absentes) + ".",
        ]
    lines += ["", "Le modèle vierge s'obtient avec « cvg template ».", "", "Bien cordialement,", ""]
    head = f"ACI : {aci.nom} (SIRET {aci.siret})" + (f", territoire {territoire_name}" if territoire_name else "")
    return head + "\n\n" + "\n".join(lines)


def _mois_fr(mois: str) -> str:
    from cvg_pipeline.fr import MOIS

    year, month = mois.split("-")
    return f"{MOIS[int(month) - 1]} {year}"


def write_relances(suivi: Suivi, dossier: Path, territoire_names: dict[str, str]) -> list[Path]:
    """A `.txt` per ACI `en_retard` or `a_corriger` in `dossier` (created if needed), never over a file.

    Files are created exclusively, mode 0600; an existing name gets a « -2 », « -3 »… suffix."""
    import os

    from cvg_pipeline.schema.load import slugify

    dossier.mkdir(parents=True, exist_ok=True, mode=0o700)
    written: list[Path] = []
    for aci in suivi.aci:
        if aci.statut == A_JOUR:
            continue
        text = relance_text(aci, suivi, territoire_names.get(aci.territoire or ""))
        stem = f"relance-{suivi.mois}-{slugify(aci.nom) or aci.siret}"
        n = 1
        while True:
            path = dossier / (f"{stem}.txt" if n == 1 else f"{stem}-{n}.txt")
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                n += 1
                continue
            break
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        written.append(path)
    return written
