#!/usr/bin/env bash
# Checks the mailbox's bounded push (and a run's push) over every interleaving with spin (the
# model is the .pml file beside this script and says what it checks). The
# model must verify with no error and catch its planted bugs (-DMUTANT...):
# a check that cannot fail proves nothing.
set -euo pipefail

models=${TEST_SRCDIR:-$(dirname "$0")/../..}/${TEST_WORKSPACE:-}/mailbox/models
[[ -d $models ]] || models=$(dirname "$0")
work=${TEST_TMPDIR:-$(mktemp -d)}

source "${TEST_SRCDIR:-$(dirname "$0")/../..}/${TEST_WORKSPACE:-}/tools/spin_check.sh" 2>/dev/null ||
  source "$(dirname "$0")/../../tools/spin_check.sh"

check bounded_push.pml pass
check bounded_push.pml fail -DMUTANT_RESET
check bounded_push.pml fail -DMUTANT_SATURATION
check bounded_push.pml fail -DMUTANT_RUN_COUNT

finish
