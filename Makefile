# The two commands a newcomer needs (see README.md). Both run the idempotent set-up first.
.PHONY: setup run test bench clean

setup:
	@bash scripts/setup.sh

# The main job: the BDD suites against the fake and the reference integration, with reports.
run: setup
	.venv/bin/fiskil-harness run $(ARGS)

# The kit's own tests plus every feature, in parallel.
test: setup
	.venv/bin/python -m pytest -n 2 -q $(ARGS)

bench: setup
	.venv/bin/python bench/run_all.py

clean:
	rm -rf .venv node_modules reports/* .setup-stamp build/wiremock-ext
