# tests/local.mk -- the test suite: `make check` (or scripts/test) runs it.
# Each module keeps its tests in a folder with its own fragment; every test prints TAP.
EXTRA_DIST += tests/tap.h tests/tap.sh tests/sink.h

# The CLI contract: --help lists every subcommand, --version names the backends.
TESTS += tests/cli.sh
dist_check_SCRIPTS += tests/cli.sh

# The catalogue: every model and --set combination of models/catalogue.txt checks clean.
TESTS += tests/models.sh
dist_check_SCRIPTS += tests/models.sh

include tests/support/local.mk
include tests/frontend/local.mk
include tests/elab/local.mk
include tests/data/local.mk
include tests/ir/local.mk
include tests/pipeline/local.mk
include tests/codegen/local.mk
include tests/model/local.mk
include tests/weights/local.mk
include tests/compile/local.mk
include tests/cpu/local.mk
include tests/cli/local.mk
include tests/train/local.mk
include tests/train/test_metrics.mk
include tests/sample/local.mk
include tests/report/local.mk
include tests/cuda/local.mk
include tests/experiments/local.mk
include tests/dist/local.mk
