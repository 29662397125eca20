# The two commands of the README. Both install what is missing first.
.PHONY: run test bench build setup

run:
	scripts/run.sh

test:
	scripts/test.sh

# Every performance figure of the README, in one table (about 15 minutes).
bench:
	scripts/bench.sh

build:
	scripts/setup.sh run
	scripts/build.sh

setup:
	scripts/setup.sh test
