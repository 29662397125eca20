# The two commands of the README. Both install what is missing first.
.PHONY: run test build setup

run:
	scripts/run.sh

test:
	scripts/test.sh

build:
	scripts/setup.sh run
	scripts/build.sh

setup:
	scripts/setup.sh test
