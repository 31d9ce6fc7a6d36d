# The two commands: `make run` serves the API with a local PostGIS and sample data,
# `make test` runs lint, type check and the whole test suite. Both install what is missing.
.PHONY: setup db run test test-fast images compose-test lint format collector bench bench-quick bench-overhead bench-profile bench-ab bench-floor reliability deploy-check deploy-plan

setup:
	@scripts/setup.sh

db: setup
	@scripts/db.sh

run: setup
	@scripts/run.sh

test: setup
	@scripts/test.sh

# The edit-test loop: lint, types and every test that starts no server process or collector.
test-fast: setup
	@scripts/test.sh --fast

# The base images docker-compose.yml and the Dockerfile name, as local stand-ins built with podman
# (no registry here): docs/containers.md.
images:
	@scripts/images.sh

# The image and `docker compose up` run for real on podman (tests/test_containers.py; also in make test).
compose-test: setup
	@scripts/compose-test.sh

# The local collector (otel-config.yaml's components, ADOT's collector version); prints its path last.
collector:
	@scripts/collector.sh

# Every case against every request kind, interleaved; writes BENCHMARKS.md (under 15 minutes).
bench: setup
	@scripts/bench.sh bench.run

# The same with three request kinds and shorter runs (under 3 minutes once the data is loaded).
bench-quick: setup
	@scripts/bench.sh bench.run --quick

# Fault, collector and soak scenarios against real servers; prints the table (about 16 minutes).
reliability: setup
	@scripts/reliability.sh

bench-ab: setup
	@scripts/bench.sh bench.ab

bench-profile: setup
	@scripts/bench.sh bench.profile

# How fast a bare Python ASGI server is on the same requests: the floor under ours (bench/floor.py).
bench-floor: setup
	@scripts/bench.sh bench.floor

# Throughput of one items request traced vs OTEL_SDK_DISABLED=true, interleaved (a few minutes).
bench-overhead: setup
	@scripts/bench.sh bench.overhead

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

format: setup
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

# deploy/terraform's documents rendered and validated offline, and checkov (also part of make test).
deploy-check: setup
	@scripts/deploy-check.sh

# deploy/terraform applied for real: OpenTofu and the AWS provider built from Go modules (cached;
# ~15 minutes the first time), both collector modes against moto on loopback, a second plan that
# must be empty, and the module's `tofu test` contracts (deploy/README.md). Not part of make test.
deploy-plan: setup
	@scripts/deploy-plan.sh
