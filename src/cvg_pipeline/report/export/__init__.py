"""`cvg export`: the indicators as open data — one tidy long table for dashboards and data.gouv.fr.

Modules: `table` (the rows and the figures of the indicators JSON), `statuses` (the reports' secret cells
mapped to the rows), `worker` (the reports' secret on both cores), `cube` (`build_export`: perimeters ×
programmes × years), `metadata` (datapackage.json and the statuses' meaning), `files` (csv, parquet, xlsx,
the destination checks, the `--json` summary).

One row per (perimetre, territoire, annee, programme, indicateur, modalite) with `valeur`, `base` and `statut`:

- `indicateur` is the JSON path of the `cvg indicators` object (indicators.md §4), e.g.
  ``sorties.taux_sorties_dynamiques``; `modalite` is the category's slug for a distribution or a yes/no
  breakdown (``femme``, ``oui``, ``non_renseigne``), empty otherwise. The rows come from walking that JSON
  generically (`walk`): an int is a count; ``{"n", "base"}`` a rate (valeur = n, base = base); an object
  whose values are all ints a distribution (one row per modality); a number with decimals a mean (its
  population from `MEAN_POPULATIONS`); any other object is walked into. `perimetre`, `annee`, `donnees_au`
  and `snapshots` are the row's keys or the sources, not rows; `par_territoire` and `evolution` repeat
  figures that have rows of their own (the territoire's perimeter, the other years: the same numbers), and
  the `phc` block (computed on PHC parcours whatever the programme) is exported under programme PHC only.
- `statut` is the secret statistique of the published reports (issue 16), the same figures with the same
  statuses: for each (perimetre, programme, annee) the report's view model is built (`report.build_report`,
  which declares every count it shows and protects them: primary secret A, secondary secret D, audited by
  linear programming) and its cells are mapped to the rows (`REPORT_KEYS`). A hidden count has an empty
  `valeur`; a rate whose count is hidden, whose base is hidden or under the seuil has an empty `valeur`
  (its base is shown when it is free). Figures the report does not publish (`sorties.duree_parcours.tranches`,
  `logement.sortie`, `post_sortie.*.non_renseigne`) get the primary secret, and every non-zero count of
  such a figure is hidden as soon as one of them is, or one of the report's counts it adds up to
  (`EXTRA_LINKS`): a table published beside the report never gives back a cell the report hides. Means:
  hidden (A) when computed on 1 … seuil − 1 people, as in the report. Two rows holding the same figure
  (`SAME_FIGURES`: under programme PHC, the phc block's counts are the effectifs') take the stricter of
  their statuses: the report declares them as two cells and may show one while it hides the other.
- `--non-masque` writes every value, with the statuses the published table would have (the file names and
  the metadata say so): the analyst's working data, not for publication.

Files: ``indicateurs.csv`` (UTF-8, comma, RFC 4180), ``indicateurs.parquet`` and ``datapackage.json``
(Frictionless Data Package v2) by default; ``indicateurs.xlsx`` (a filterable table and a « Lisez-moi »
sheet) with `--format xlsx`. Never written over an existing file unless asked (`files.write_new_file`).
"""
