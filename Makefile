# The two set-up commands of the README. Each creates .venv (finding a Python >= 3.12) and installs
# what it needs.
.PHONY: reports test lint bench clean-cache

reports:
	@tools/bootstrap.sh
	.venv/bin/forecast history --replay
	.venv/bin/forecast all_scenarios=true

test:
	@tools/bootstrap.sh test
	@tools/browser.sh
	.venv/bin/ruff check forecast tests bench
	.venv/bin/python -m pytest

lint:
	@tools/bootstrap.sh test
	.venv/bin/ruff check forecast tests bench

bench:
	@tools/bootstrap.sh test
	.venv/bin/python bench/run.py

clean-cache:
	rm -rf .cache
