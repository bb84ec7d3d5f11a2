#!/usr/bin/env bash
# Checks the injection queue's hand-over of spare blocks over every
# interleaving with spin (the model is the .pml file beside this script and
# says what it checks). The model must verify with no error and catch its
# planted bug (-DMUTANT...): a check that cannot fail proves nothing.
set -euo pipefail

models=${TEST_SRCDIR:-$(dirname "$0")/../..}/${TEST_WORKSPACE:-}/threads/models
[[ -d $models ]] || models=$(dirname "$0")
work=${TEST_TMPDIR:-$(mktemp -d)}

source "${TEST_SRCDIR:-$(dirname "$0")/../..}/${TEST_WORKSPACE:-}/tools/spin_check.sh" 2>/dev/null ||
  source "$(dirname "$0")/../../tools/spin_check.sh"

check spare_blocks.pml pass
check spare_blocks.pml fail -DMUTANT_TAKE
check spare_blocks.pml pass -DSTORE_PUT

finish
