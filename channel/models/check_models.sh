#!/usr/bin/env bash
# Checks the channels' close protocols, and how a task parks on a context
# in its own frame, over every interleaving with spin
# (the models are the .pml files beside this script; each says what it
# checks). Each model must verify with no error, and each must also catch
# its planted bug (-DOLD_PROTOCOL / -DMUTANT): a check that cannot fail
# proves nothing.
set -euo pipefail

models=${TEST_SRCDIR:-$(dirname "$0")/../..}/${TEST_WORKSPACE:-}/channel/models
[[ -d $models ]] || models=$(dirname "$0")
work=${TEST_TMPDIR:-$(mktemp -d)}

source "${TEST_SRCDIR:-$(dirname "$0")/../..}/${TEST_WORKSPACE:-}/tools/spin_check.sh" 2>/dev/null ||
  source "$(dirname "$0")/../../tools/spin_check.sh"

check spsc_close.pml pass
check spsc_close.pml fail -DOLD_PROTOCOL
check array_close.pml pass
check array_close.pml pass -DRECEIVERS=2 -DPER_SENDER=1
check array_close.pml fail -DMUTANT
check list_close.pml pass
check list_close.pml fail -DMUTANT
check zero_close.pml pass
check zero_close.pml fail -DMUTANT
check task_park.pml pass
check task_park.pml fail -DMUTANT
check task_park.pml fail -DMUTANT_LATE
check task_park.pml pass -DLOCKED
check task_park.pml fail -DLOCKED -DMUTANT_ORDER

finish
