#!/usr/bin/env bash
# Checks the thread pool's lock-free hand-overs over every interleaving with
# spin: the injection queue's spare blocks, and the workers' sleep protocol
# with the idle stack (each model is a .pml file beside this script and says
# what it checks). Each must verify with no error and catch its planted bugs
# (-DMUTANT...): a check that cannot fail proves nothing.
set -euo pipefail

models=${TEST_SRCDIR:-$(dirname "$0")/../..}/${TEST_WORKSPACE:-}/threads/models
[[ -d $models ]] || models=$(dirname "$0")
work=${TEST_TMPDIR:-$(mktemp -d)}

source "${TEST_SRCDIR:-$(dirname "$0")/../..}/${TEST_WORKSPACE:-}/tools/spin_check.sh" 2>/dev/null ||
  source "$(dirname "$0")/../../tools/spin_check.sh"

check spare_blocks.pml pass
check spare_blocks.pml fail -DMUTANT_TAKE
check spare_blocks.pml pass -DSTORE_PUT
check idle_stack.pml pass
check idle_stack.pml pass -DJOIN
check idle_stack.pml fail -DMUTANT_LOOK_FIRST
check idle_stack.pml fail -DMUTANT_LATE_ENTER
check idle_stack.pml fail -DJOIN -DMUTANT_WAKE_FIRST

finish
