# tracecomb — the README's two commands are `make run` and `make test`.
.PHONY: run test build

run: ## build (UI included when its sources are there) and start tracecomb with the embedded store
	./scripts/run.sh

test: ## every test, installing what the tests need on a fresh machine
	./scripts/test.sh

build:
	go build -o bin/tracecomb ./cmd/tracecomb
