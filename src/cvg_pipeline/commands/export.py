"""`cvg export` (the indicators as open data) and `cvg extraire` (a territoire's store without the key)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cvg_pipeline.commands.common import StoreOption, WaitOption, echo, guarded


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `cvg` application."""
    app.command("export")(export)
    app.command("extraire")(extraire)


def extraire(
    destination: Annotated[
        Path,
        typer.Argument(
            metavar="DESTINATION",
            help="Fichier de base à écrire (un fichier existant n'est jamais écrasé).",
            show_default=False,
        ),
    ],
    territoire: Annotated[
        str,
        typer.Option("--territoire", metavar="NOM", help="Le territoire à extraire, par son nom ou son code (ex. lyon).",
                     show_default=False),
    ],
    store: StoreOption = None,
    attente: WaitOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="Décrit l'extrait écrit en JSON sur la sortie standard.")] = False,
) -> None:
    """Écrit une base ne contenant que les ACI, fichiers et parcours d'un territoire, sans la clé de
    pseudonymisation : pour le ou la coordinateur·rice du territoire (cvg report, cvg indicators, cvg suivi,
    cvg historique avec « --store DESTINATION »).

    L'extrait ne peut pas intégrer de fichiers (sans la clé, les pseudonymes ne peuvent pas être calculés) :
    les fichiers s'intègrent dans la base nationale, puis on refait l'extrait. Il contient les parcours
    pseudonymisés du territoire : à ne remettre qu'à ses coordinateur·rices.

    \b
    Exemples :
      cvg extraire --territoire lyon extrait-lyon.duckdb
      cvg report --store extrait-lyon.duckdb --territoire lyon --annee 2023
    """

    def run() -> None:
        import json

        from cvg_pipeline.fr import pluriel
        from cvg_pipeline.store.checks import existing_store
        from cvg_pipeline.store.extract import extract_territoire

        result = extract_territoire(existing_store(store), territoire, destination, wait=attente)
        if json_output:
            echo(json.dumps({"fichier": str(result.path), "territoire": result.territoire, "aci": result.aci,
                             "fichiers_integres": result.snapshots, "parcours": result.parcours,
                             "cle_de_pseudonymisation": False}, ensure_ascii=False, indent=2))
            return
        echo(
            f"Extrait écrit : {result.path} (territoire {result.territoire} : {pluriel(result.aci, 'ACI', 'ACI')}, "
            f"{pluriel(result.snapshots, 'fichier intégré', 'fichiers intégrés')}, {result.parcours} parcours). "
            "Il ne contient pas la clé de pseudonymisation et ne peut pas intégrer de fichiers. Il contient les "
            "parcours pseudonymisés du territoire : ne le remettez qu'à ses coordinateur·rices."
        )

    guarded(run)


def export(
    store: StoreOption = None,
    attente: WaitOption = None,
    sortie: Annotated[
        Path, typer.Option("--sortie", metavar="DOSSIER", help="Dossier où écrire les fichiers.")
    ] = Path("export"),
    formats: Annotated[
        str,
        typer.Option("--format", metavar="csv,parquet,xlsx",
                     help="Formats à écrire, séparés par des virgules (csv et parquet : avec datapackage.json)."),
    ] = "csv,parquet",
    territoire: Annotated[
        str | None,
        typer.Option("--territoire", metavar="NOM", help="Seulement ce territoire (défaut : national et chaque territoire)."),
    ] = None,
    national: Annotated[bool, typer.Option("--national", help="Seulement le périmètre national.")] = False,
    annee: Annotated[
        str | None, typer.Option("--annee", metavar="AAAA", help="Seulement cette année (défaut : toutes celles couvertes).")
    ] = None,
    programme: Annotated[
        str | None, typer.Option("--programme", metavar="CVG|PHC|tous", help="Seulement ce programme (défaut : les trois).")
    ] = None,
    seuil_secret: Annotated[
        int,
        typer.Option("--seuil-secret", metavar="N", min=0,
                     help="Secret statistique, comme le rapport (défaut 5 ; 0 le désactive)."),
    ] = 5,
    non_masque: Annotated[
        bool,
        typer.Option("--non-masque",
                     help="Écrit toutes les valeurs, même celles que le secret statistique masque (fichiers "
                          "« -non-masque », à ne pas diffuser)."),
    ] = False,
    ecraser: Annotated[
        bool, typer.Option("--ecraser", help="Remplace les fichiers déjà écrits (sinon rien n'est écrit, code 1).")
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Décrit les fichiers écrits en JSON sur la sortie standard.")] = False,
) -> None:
    """Écrit les indicateurs en données ouvertes : une table longue (une ligne par périmètre, territoire,
    année, programme, indicateur et modalité) en CSV et Parquet avec son datapackage.json, ou en Excel.

    Par défaut : le national et chaque territoire, les programmes CVG, PHC et tous, chaque année couverte
    par les fichiers. Le secret statistique des rapports y est appliqué (valeur vide, statut A ou D).

    \b
    Exemples :
      cvg export --sortie opendata/
      cvg export --format xlsx --territoire lyon
      cvg export --non-masque --sortie travail/
    """

    def run() -> None:
        import json
        import sys

        from cvg_pipeline.check.errors import UsageError
        from cvg_pipeline.indicators import compute as ind
        from cvg_pipeline.report.export.cube import build_export
        from cvg_pipeline.report.export.files import (
            check_destination,
            file_names,
            parse_formats,
            summary,
            write_export,
        )
        from cvg_pipeline.report.export.table import PROGRAMMES
        from cvg_pipeline.schema.load import load_schema
        from cvg_pipeline.schema.territoires import resolve_territoire
        from cvg_pipeline.store.checks import existing_store

        wanted = parse_formats(formats)
        schema = load_schema()
        if national and territoire is not None:
            raise UsageError("un seul périmètre à la fois : --national et --territoire sont incompatibles.")
        slugs = [resolve_territoire(schema, territoire)] if territoire is not None else [] if national else None
        programmes = (ind.parse_programme(schema, programme),) if programme is not None else PROGRAMMES
        annees = [ind.parse_annee(annee)] if annee is not None else None
        check_destination(sortie, file_names(wanted, not non_masque), ecraser=ecraser)  # before the long computation
        path = existing_store(store)
        tty = sys.stderr.isatty() and not json_output

        def progress(done: int, total: int) -> None:
            if tty:
                sys.stderr.write(f"\rSecret statistique : {done} / {total} rapports")
                if done == total:
                    sys.stderr.write("\n")
                sys.stderr.flush()

        result = build_export(path, schema, seuil=seuil_secret, masque=not non_masque, territoires=slugs,
                                 national=territoire is None, programmes=programmes, annees=annees,
                                 progress=progress, wait=attente)
        if annees is not None and not result.rows:
            raise UsageError(f"aucune donnée pour l'année {annees[0]} dans le périmètre demandé.")
        written = write_export(result, sortie, wanted, ecraser=ecraser)
        if json_output:
            echo(json.dumps(summary(result), ensure_ascii=False, indent=2))
            return
        for p in written:
            echo(str(p))

    guarded(run)
