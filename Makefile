# Two entry points for a fresh machine: `make demo` and `make test`. Both create .venv and install first.
VENV   ?= .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
RUN    ?= demo
DEMO_ARGS ?= -y '{n_images: 2000, clip_pretrain_images: 2000, clip_epochs: 12, clip_minutes: 0, seeds: [0, 1, 2], sage_epochs: 40, finetune_epochs: 1, baseline_epochs: 30, extra_methods: [probe-correction, probe-correction-knn, linear-probe-caption, knn-blend-caption, probe-correction-caption, probe-correction-scene, mlp-correction, label-spreading, correct-smooth-all, sage-correction-all]}'
REAL_ARGS ?= -y '{dataset: coco-clip, seeds: [0, 1, 2, 3, 4], fractions: [0.6, 0.2, 0.2], sage_epochs: 40, baseline_epochs: 30, ablation: true, extra_methods: [probe-correction, probe-correction-knn, linear-probe-caption, knn-blend-caption, probe-correction-caption, probe-correction-scene, mlp-correction, label-spreading, correct-smooth-all, sage-correction-all]}'
ABLATION_ARGS ?= -y '{n_images: 2000, clip_pretrain_images: 2000, clip_epochs: 12, clip_minutes: 0, seeds: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], sage_epochs: 40, finetune: false, baseline_epochs: 30, search: false, ablation: true}'
export HF_HUB_OFFLINE = 1
export TRANSFORMERS_OFFLINE = 1

.PHONY: install demo real ablation test mutants export clean-nbs readme check-sync browser app

$(VENV)/.installed: settings.ini setup.py
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip setuptools wheel
	PYTHONWARNINGS=ignore $(BIN)/pip install -q -e '.[dev,scale]'   # quiet: setuptools' build warnings are not ours to act on
	touch $@

install: $(VENV)/.installed

# The main job on the built-in generated dataset → outputs/$(RUN)/; the stages, their progress and timings print as they run.
# It ends by comparing the tables with the committed ones (mmkg compare: exact on the machine that wrote them, within
# 0.01 + 1 % on another CPU) and fails when one differs beyond that.
COMMITTED = outputs/.committed/$(RUN)
demo: install
	mkdir -p outputs/$(RUN)
	rm -rf $(COMMITTED) && mkdir -p $(COMMITTED)
	if git cat-file -e HEAD:outputs/$(RUN)/tables 2>/dev/null; then git archive HEAD outputs/$(RUN)/tables | tar -x -C $(COMMITTED); fi
	$(BIN)/papermill -k python3 --cwd nbs --log-output --no-progress-bar nbs/10_experiment.ipynb outputs/$(RUN)/executed.ipynb \
	    -p out_dir $(CURDIR)/outputs/$(RUN) -p cache_dir $(CURDIR)/outputs/cache $(DEMO_ARGS)
	@if [ -d $(COMMITTED)/outputs/$(RUN)/tables ]; then $(BIN)/mmkg compare $(COMMITTED)/outputs/$(RUN)/tables outputs/$(RUN)/tables; \
	else echo "no committed tables of outputs/$(RUN) to compare with"; fi

# The real-feature benchmark: real CLIP ViT-B/16 features of 500 COCO photos (built in), 5 seeds, 60/20/20 → outputs/real/
real: install
	$(MAKE) demo RUN=real DEMO_ARGS="$(REAL_ARGS)"

# Each ingredient of the SAGE recipe on and off, on the demo's data and seeds → outputs/ablation/ (tables/ablation.csv|md)
ablation: install
	$(MAKE) demo RUN=ablation DEMO_ARGS="$(ABLATION_ARGS)"

# The search app on the demo run (after `make demo`): http://localhost:8501
app: install
	$(BIN)/mmkg app outputs/$(RUN)

# Debian's Chromium for the browser test of the app (tests/test_app.py); where it cannot be installed, that test skips and says so
browser:
	@if command -v chromium >/dev/null 2>&1; then echo "chromium: $$(command -v chromium)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && apt-get update -qq && apt-get install -y -qq chromium >/dev/null; then echo "chromium installed"; \
	else echo "chromium could not be installed: the browser test in tests/test_app.py will skip"; fi

# Every test: notebook cells (nbdev_test, flagged slow/gpu/data cells skipped) and tests/ (pytest)
# pytest: two workers, a test file each at a time (a file's fixtures are made once), one BLAS/OpenMP thread each (two
# threads per process on two cores made torch spin); the 15 slowest tests printed, so their cost stays visible
test: install browser
	MMKG_PROGRESS=0 $(BIN)/nbdev_test --n_workers 2
	MMKG_PROGRESS=0 OMP_NUM_THREADS=1 $(BIN)/pytest -q tests -n 2 --dist loadfile --durations 15

# Can the tests fail? Break the library in one place at a time (tests/mutants.py lists each bug and the tests that claim to
# guard it) and expect those tests to fail; the library is restored after each (~6 min)
mutants: install browser
	MMKG_PROGRESS=0 OMP_NUM_THREADS=1 $(PY) tests/mutants.py

export: install
	$(BIN)/nbdev_export

clean-nbs: install
	$(BIN)/nbdev_clean

# README.md is generated from nbs/index.ipynb (nbdev_readme needs quarto, which is not installable here)
readme: install
	$(BIN)/jupyter nbconvert --log-level WARN --to markdown --stdout nbs/index.ipynb > README.md

# What CI checks before the tests: the library, README and notebooks are what the notebooks generate; no unused imports
check-sync: clean-nbs export readme
	$(BIN)/ruff check --select F401 --output-format concise mmkg tests benchmarks   # no unused imports
	@git status --porcelain -- mmkg nbs README.md | grep . && { echo "out of sync with nbs/: run make export clean-nbs readme and commit"; git diff --stat; exit 1; } || echo "mmkg/, README.md and nbs/ are in sync and clean"
