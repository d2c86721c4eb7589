# Targets of the project. `make test` is the README's test command.
GO ?= go
GOBIN := $(shell $(GO) env GOPATH)/bin
GOLANGCI_VERSION ?= v2.15.0
STATICCHECK_VERSION ?= v0.8.2

.PHONY: all build test race short lint tools fuzz bench systemtest kafka-up kafka-down kafka-cluster-up kafka-cluster-down redis-install

all: build test lint

build:
	$(GO) build ./...

# The whole suite, under the race detector, with the embedded broker.
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 20m ./...

race: test

short:
	$(GO) test -short -count=1 ./...

tools:
	@test -x $(GOBIN)/staticcheck || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	@test -x $(GOBIN)/golangci-lint || $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION)

lint: tools
	$(GO) vet ./...
	$(GOBIN)/staticcheck ./...
	$(GOBIN)/golangci-lint run ./...

# Short runs of every fuzz test.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list 'Fuzz.*' $$pkg | grep '^Fuzz'); do \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 10s $$pkg || exit 1; \
		done; \
	done
