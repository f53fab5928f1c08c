"""`cvg suivi`: the analyst's month — who has sent, who is late, who must correct, how complete each file is.

Thin command: the work is done by `cvg_pipeline.ingest.suivi` (imported inside the function).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cvg_pipeline.commands.common import StoreOption, WaitOption, guarded

if TYPE_CHECKING:
    from cvg_pipeline.ingest.suivi import Suivi


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `cvg` application."""
    app.command("suivi")(suivi)


def suivi(
    store: StoreOption = None,
    attente: WaitOption = None,
    mois: Annotated[
        str | None,
        typer.Option(
            "--mois",
            metavar="AAAA-MM",
            help="Mois suivi (défaut : le mois en cours) : un ACI est à jour s'il a envoyé son fichier arrêté "
            "au dernier jour du mois précédent (ou plus tard).",
            show_default=False,
        ),
    ] = None,
    territoire: Annotated[
        str | None,
        typer.Option("--territoire", metavar="NOM", help="Seulement les ACI d'un territoire, par son nom ou son code (ex. lyon)."),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Écrit le suivi en JSON (un objet) sur la sortie standard, sans tableau.")
    ] = False,
    relances: Annotated[
        Path | None,
        typer.Option(
            "--relances",
            metavar="DOSSIER",
            help="Écrit dans DOSSIER un texte de relance (.txt) par ACI en retard ou à corriger, à envoyer "
            "vous-même (cvg n'envoie rien). Un fichier existant n'est jamais remplacé.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Suivi du mois : une ligne par ACI (à jour, en retard, à corriger) et la complétude de son fichier.

    \b
    Exemples :
      cvg suivi
      cvg suivi --mois 2024-03 --territoire lyon
      cvg suivi --relances relances/
    """

    def run() -> None:
        from cvg_pipeline.ingest.suivi import month_status, write_relances
        from cvg_pipeline.schema.file import territoire_names
        from cvg_pipeline.store.db import resolve_store_path

        result = month_status(resolve_store_path(store), mois=mois, territoire=territoire)
        names = territoire_names()
        written = write_relances(result, relances, names) if relances is not None else []
        if json_output:
            import json

            from cvg_pipeline.commands.common import echo

            payload = result.to_dict()
            if relances is not None:
                payload["relances"] = [str(p) for p in written]
            echo(json.dumps(payload, ensure_ascii=False, indent=2))
            return
        _render(result, names)
        if relances is not None:
            from cvg_pipeline.commands.ingest import _Out
            from cvg_pipeline.fr import pluriel

            out = _Out()
            if written:
                out.line(f"{pluriel(len(written), 'texte de relance écrit', 'textes de relance écrits')} dans « {relances} ».")
            else:
                out.line("Aucune relance à écrire : tous les ACI sont à jour.")

    guarded(run)


def _render(result: Suivi, names: dict[str, str]) -> None:
    from cvg_pipeline.commands.ingest import _date, _Out, _table
    from cvg_pipeline.fr import pluriel
    from cvg_pipeline.ingest.suivi import A_CORRIGER, A_JOUR, EN_RETARD, STATUS_LABELS

    out = _Out()
    year, month = result.mois.split("-")
    out.line(f"Suivi de {month}/{year} : un ACI est à jour s'il a envoyé son fichier arrêté au {_date(result.attendu)} ou plus tard.")
    if not result.aci and not result.non_attribues:
        out.line("Aucun ACI connu de la base : aucun fichier intégré ni refusé.")
        return
    rows: list[list[str]] = []
    colours = {A_JOUR: "green", EN_RETARD: "yellow", A_CORRIGER: "red"}
    for a in result.aci:
        statut = STATUS_LABELS[a.statut]
        if a.statut == EN_RETARD and a.retard_mois:
            statut += f" ({a.retard_mois} mois)"
        detail: list[str] = []
        if a.statut == A_CORRIGER:
            for ref in a.refus:
                codes = ", ".join(f"{c} × {n}" for c, n in sorted(ref.codes.items(), key=lambda kv: (-kv[1], kv[0])))
                detail.append(f"« {ref.fichier} » refusé ({codes}) : classeur « {ref.classeur_erreurs} »")
        if a.colonnes_absentes:
            detail.append("absentes : " + ", ".join(a.colonnes_absentes))
        if a.colonnes_peu_remplies:
            detail.append("peu remplies : " + ", ".join(a.colonnes_peu_remplies))
        rows.append(
            [
                a.nom,
                names.get(a.territoire or "", a.territoire or "?"),
                _date(a.derniere_date_arrete) if a.derniere_date_arrete else "—",
                statut,
                "—" if a.lignes is None else str(a.lignes),
                "inconnue" if a.completude is None else f"{round(a.completude * 100)} %",
                " ; ".join(detail),
            ]
        )
    headers = ["ACI", "Territoire", "Date d'arrêté", "Statut", "Lignes", "Complétude", "Détail"]
    styles = [colours[a.statut] for a in result.aci]
    out.lines(_table(headers, rows, right={4, 5}, style=lambda r, c: styles[r] if c == 3 else None))
    counts = result.counts()
    out.line()
    out.line(
        f"{counts[A_JOUR]} à jour, {counts[EN_RETARD]} en retard, {counts[A_CORRIGER]} à corriger"
        + (f" ; {pluriel(len(result.non_attribues), 'fichier refusé', 'fichiers refusés')} sans SIRET lisible." if result.non_attribues else ".")
    )
    if result.non_attribues:
        out.line("Fichiers refusés dont l'ACI n'a pas pu être identifié (SIRET illisible) :")
        for ref in result.non_attribues:
            codes = ", ".join(f"{c} × {n}" for c, n in sorted(ref.codes.items()))
            out.line(f"  - « {ref.fichier} », reçu le {ref.recu_le:%d/%m/%Y %H:%M} ({codes})")
