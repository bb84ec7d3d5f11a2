#!/usr/bin/env bash
# Checks the async layer's lock-free protocols over every interleaving with
# spin: the join word of a Go task and its handle, a suspending wait with
# its cancellation, a task awaiting a future, and a task's wait on a
# buffered channel that re-arms while a cancel may come (the models are
# the .pml files beside this script; each says what it checks). Each model
# must verify with no error and catch its planted bugs (-DMUTANT...): a
# check that cannot fail proves nothing.
set -euo pipefail

models=${TEST_SRCDIR:-$(dirname "$0")/../..}/${TEST_WORKSPACE:-}/async/models
[[ -d $models ]] || models=$(dirname "$0")
work=${TEST_TMPDIR:-$(mktemp -d)}

source "${TEST_SRCDIR:-$(dirname "$0")/../..}/${TEST_WORKSPACE:-}/tools/spin_check.sh" 2>/dev/null ||
  source "$(dirname "$0")/../../tools/spin_check.sh"

check join.pml pass
check join.pml fail -DMUTANT
check cancel_slot.pml pass
check cancel_slot.pml fail -DMUTANT
check cancel_slot.pml fail -DMUTANT_ARMING
check future_waiter.pml pass
check future_waiter.pml fail -DMUTANT_ARMING
check future_waiter.pml fail -DMUTANT_CLAIM
check buffered_wait.pml pass
check buffered_wait.pml fail -DMUTANT

finish
