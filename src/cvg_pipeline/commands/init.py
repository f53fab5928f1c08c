"""`cvg init`: create a store, explicitly (every other command refuses a missing store)."""

from __future__ import annotations

import typer

from cvg_pipeline.commands.common import StoreOption, echo, guarded


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `cvg` application."""
    app.command("init")(init)


def init(store: StoreOption = None) -> None:
    """Crée une base vide, avec sa clé de pseudonymisation (refuse si elle existe déjà).

    \b
    Exemples :
      cvg init
      cvg init --store travail/cvg.duckdb
    """

    def run() -> None:
        from cvg_pipeline.check.errors import UsageError
        from cvg_pipeline.store.checks import store_source
        from cvg_pipeline.store.db import create_store, resolve_store_path

        path = resolve_store_path(store)
        if path.is_dir():
            raise UsageError(f"« {path} » est un dossier : donnez le nom du fichier de la base (ex. {path / 'cvg.duckdb'}).")
        create_store(path)
        how = {"--store": "", "défaut": " (chemin par défaut)"}.get(store_source(store), " (variable CVG_STORE)")
        echo(
            f"Base créée : {path.absolute()}{how}. Elle contient la clé de pseudonymisation des identifiants "
            "salariés : sans elle, les mêmes personnes recevraient d'autres pseudonymes. Conservez-la et "
            "sauvegardez-la régulièrement avec « cvg sauvegarder DOSSIER »."
        )

    guarded(run)
