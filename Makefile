# The two set-up commands of the README. Each creates .venv (finding a Python >= 3.12) and installs
# what it needs.
.PHONY: reports test test-fast lint bench clean-cache

# the test suite runs in this many processes (pytest-xdist; CI has 2 cores): the fitting tests share one
# posterior cache, so a state two tests need is fitted once per run whichever process asks first
TEST_PROCESSES ?= 2

reports:
	@tools/bootstrap.sh
	.venv/bin/forecast history --replay
	.venv/bin/forecast all_scenarios=true

test:
	@tools/bootstrap.sh test
	@tools/browser.sh
	.venv/bin/ruff check forecast tests bench
	.venv/bin/python -m pytest -n $(TEST_PROCESSES) --dist worksteal

lint:
	@tools/bootstrap.sh test
	.venv/bin/ruff check forecast tests bench

bench:
	@tools/bootstrap.sh test
	.venv/bin/python bench/tool_vs_naive.py

clean-cache:
	rm -rf .cache

test-fast:  # the edit-test loop: everything but the fitting tests (make test runs all, as CI does)
	@tools/bootstrap.sh test
	.venv/bin/ruff check forecast tests bench
	.venv/bin/python -m pytest -m "not slow" -n $(TEST_PROCESSES) --dist worksteal
