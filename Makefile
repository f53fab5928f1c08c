# cvg-pipeline — the two commands of the README: `make demo` and `make test`.
# Every target creates .venv with `python3 -m venv` when missing and installs the project into it.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CVG    := $(BIN)/cvg
DEMO   := demo
DEMO_STORE := $(DEMO)/cvg.duckdb
STORE  ?= cvg.duckdb
ANNEE  ?= 2023

.PHONY: demo test clients lint typecheck pytest golden bench bench-export fuzz soak captures rapport-national examples readme template clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed

## make demo: install, write the template, create the store (`cvg init`), ingest examples/, compute
## indicators and write the reports.
# The examples include 3 files with errors (examples/erreurs/): ingest exits 1 for them, which is expected;
# their annotated copies are written to demo/erreurs/. Any other exit code stops the demo.
demo: $(VENV)/.installed
	@rm -rf $(DEMO) && (umask 077 && mkdir -p $(DEMO))
	@echo "== Modèle vierge à envoyer aux ACI"
	@$(CVG) template --sortie $(DEMO)/modele-reporting-cvg.xlsx
	@echo "== Base de la démo"
	@$(CVG) init --store $(DEMO_STORE)
	@echo "== Intégration des exemples (examples/erreurs/ contient 3 fichiers refusés exprès : code 1 attendu)"
	@$(CVG) ingest --store $(DEMO_STORE) --erreurs $(DEMO)/erreurs examples/aci examples/historique examples/erreurs || [ $$? -eq 1 ]
	@echo "== Suivi du mois de mars 2024"
	@$(CVG) suivi --store $(DEMO_STORE) --mois 2024-03 --relances $(DEMO)/relances
	@echo "== Indicateurs et rapports 2023"
	@# their warnings are the reports' own (said once, below)
	@umask 077 && $(CVG) indicators --store $(DEMO_STORE) --national --annee 2023 > $(DEMO)/indicateurs-national-2023.json 2> /dev/null
	@umask 077 && $(CVG) indicators --store $(DEMO_STORE) --territoire lyon --annee 2023 > $(DEMO)/indicateurs-lyon-2023.json 2> /dev/null
	@$(CVG) report --store $(DEMO_STORE) --national --annee 2023 --sortie $(DEMO)/rapports
	@$(CVG) report --store $(DEMO_STORE) --territoire lyon --annee 2023 --sortie $(DEMO)/rapports
	@echo
	@echo "Démo terminée. À regarder :"
	@echo "  $(DEMO)/rapports/            les rapports 2023 (national et Lyon), en HTML et en Markdown"
	@echo "  $(DEMO)/erreurs/             les classeurs d'erreurs des 3 fichiers refusés, à ouvrir dans un tableur"
	@echo "  $(DEMO)/relances/            les textes de relance des ACI en retard ou à corriger"
	@echo "  $(DEMO)/modele-reporting-cvg.xlsx  le modèle vierge ; $(DEMO)/indicateurs-*.json  les indicateurs"
	@echo "  Base : $(DEMO_STORE) (par exemple : .venv/bin/cvg historique --store $(DEMO_STORE))"

## make test: ruff, mypy (strict on src/), the whole pytest suite (tests/test_wheel.py builds the wheel, installs
## it into a fresh virtualenv outside the source tree and runs cvg template, verifier and report with it).
test: lint typecheck pytest

## make clients: install the real clients of the tests (headless Chromium, LibreOffice Calc, poppler) from
## Debian's packages when one is missing (needs root). Without them their tests are skipped, with the reason;
## .ci/run installs them and runs `make test` with CVG_CLIENTS_REQUIRED=1, under which they fail instead.
clients:
	.ci/install-clients

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

# Two workers, one module at a time each, the longest modules first (tests/conftest.py).
pytest: $(VENV)/.installed-dev
	$(BIN)/pytest -n 2 -p no:cacheprovider

## make golden: regenerate the golden files of the reports (review the diff before committing): the demo
## reports (examples/ ingested into a temporary store) and the national report of the sample indicators.
golden: $(VENV)/.installed-dev
	rm -rf tests/golden
	CVG_UPDATE_GOLDEN=1 $(BIN)/pytest -p no:cacheprovider tests/test_report.py -k golden
	git status --short tests/golden

## make soak: the long runs of what `make test` samples (tests/sizes.py): the adversary of the secret statistique
## on 20 generated networks (tests/test_secret_adversary.py; `make test`: 3), Ctrl-C at 20 moments of a 100-file
## ingest (tests/test_ctrl_c_soak.py; `make test`: 1), SIGKILL at 20 moments of an ingest (tests/test_crash.py;
## `make test`: 5), Ctrl-C at 10 moments of the writing (tests/test_ingest_integrity.py; `make test`: 3), SIGINT
## and SIGTERM each at 14 moments of a command's start and end (tests/test_interrupts.py; `make test`: 7 each),
## the PHC report of 3 territoire-years (tests/test_secret_phc.py; `make test`: 1) and cvg export with and without
## its worker on every perimeter and year (tests/test_export.py; `make test`: national and Lyon, 2 years) (CVG_SOAK=1).
soak: $(VENV)/.installed-dev
	CVG_SOAK=1 CVG_SOAK_NETWORKS=20 CVG_SOAK_CTRL_C=20 $(BIN)/pytest -p no:cacheprovider -q -n 2 \
		tests/test_secret_adversary.py tests/test_ctrl_c_soak.py tests/test_crash.py tests/test_ingest_integrity.py \
		tests/test_interrupts.py tests/test_secret_phc.py tests/test_export.py

## make captures: render the golden HTML reports (tests/golden/exemples = the demo data) and, after `make demo`,
## demo/rapports/*.html to full-page PNG in captures/ with headless Chromium (fails on a console error); then the
## national and lyon reports of a 70-ACI network printed to A4 PDF (Chromium and Typst), every page as a PNG and a
## contact sheet per PDF (captures/planche-*.png), with the page counts: look at every page.
captures: $(VENV)/.installed-dev
	$(BIN)/python -m tests.test_report_browser captures

## make rapport-national: the yearly national report from a store (STORE=…, ANNEE=…), as CI runs it.
rapport-national: $(VENV)/.installed
	$(CVG) report --store $(STORE) --national --annee $(ANNEE) --sortie rapports

## make bench: whole-process timings side by side (benchmarks/RESULTS.md).
bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/bench.py

## make bench-export: cvg export on the 70-ACI network (add REFERENCE=other/src to compare trees).
bench-export: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/export_bench.py $(if $(REFERENCE),--reference $(REFERENCE))

## make fuzz: the property tests at full size (tests/sizes.py): the hostile-file fuzzer (well over 1,000 mutated
## workbooks) and the indicators' invariants on random stores (30 + 15 stores; `make test`: 10 + 5); statistics printed.
fuzz: $(VENV)/.installed-dev
	HYPOTHESIS_PROFILE=fuzz $(BIN)/pytest -p no:cacheprovider -q tests/test_fuzz.py tests/test_indicators_invariants.py \
		--hypothesis-show-statistics

## make examples: regenerate the example workbooks (deterministic).
examples: $(VENV)/.installed-dev
	$(BIN)/python examples/generate.py

## make readme: regenerate the README column reference from src/cvg_pipeline/schemas/.
readme: $(VENV)/.installed
	$(BIN)/python -m cvg_pipeline.schema.docs

clean:
	rm -rf $(DEMO) rapports captures erreurs .pytest_cache .mypy_cache .ruff_cache
