# The project's commands. Each one does the setup it needs (scripts/setup.sh).
.PHONY: run test bench

run:  ## serve the demo database sales_process_demo on http://localhost:$${PORT:-8069}
	@bash scripts/run.sh

test:  ## lint, install, tests, smoke test, in a throwaway database
	@bash scripts/test.sh

bench:  ## the addon's cost against plain crm and base_automation rules on N leads (N=10000, CHECK=1, REPEATS=5, ONLY=...)
	@bash scripts/bench.sh
