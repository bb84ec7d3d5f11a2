/*
 * A suspending await and its cancellation: the cancellation slot of
 * async/internal/context.h (Register, Unregister, Cancel) with the one-shot
 * claim of async/internal/leaf_wait.h (Suspend, Complete, CancelWait),
 * checked over every interleaving by spin.
 *
 * The strand registers its canceller in the slot, parks on a source, then
 * arms (CAS ARMING -> ARMED); if that CAS fails, something ended the wait
 * while it was arming and it goes on without suspending. The source ends
 * the wait with a claim (CAS from ARMING or ARMED to DONE), a canceller
 * with Cancel(): it takes the canceller out of the slot (marking it busy),
 * runs CancelWait() (a claim to CANCELLED), clears busy, and resumes the
 * strand if its claim found it ARMED. After the wait, the strand
 * unregisters (CAS C -> 0, or waits while busy) and its frame, which holds
 * the canceller, is gone.
 *
 * Checked: the strand is resumed exactly once if it suspended and never
 * if it did not; CancelWait() never runs on a dead canceller; the strand
 * learns "cancelled" exactly when the cancel won; a cancel that comes
 * before the registration fails it; every run ends.
 *
 * -DMUTANT: Unregister() does not wait while the slot is busy (the frame
 * may die under a running CancelWait); spin must find it.
 * -DMUTANT_ARMING: the source resumes the strand even when its claim found
 * it still arming (a double resumption); spin must find it.
 */
#define EMPTY 0
#define CANCELLED 1
#define BUSY 2
#define CANCELLER 4

#define ARMING 0
#define ARMED 1
#define DONE 2
#define ENDED_CANCELLED 3

byte slot = EMPTY;
byte leaf = ARMING;
bool parked = false;
bool suspended = false;
byte resumes = 0;
bool canceller_alive = true;
bool strand_saw_cancel = false;
bool cancel_won = false;
bool strand_done = false;
bool tried_register = false;
bool source_done = false;
bool canceller_done = false;

proctype Strand() {
  bool registered;
  bool armed;
  atomic {
    tried_register = true;
    if
    :: slot == EMPTY -> slot = CANCELLER; registered = true
    :: else -> registered = false
    fi
  };
  if
  :: !registered -> strand_saw_cancel = true; goto dead
  :: else -> skip
  fi;
  parked = true;
  atomic {
    if
    :: leaf == ARMING -> leaf = ARMED; armed = true; suspended = true
    :: else -> armed = false
    fi
  };
  if
  :: armed -> (resumes > 0)
  :: else -> skip
  fi;
  strand_saw_cancel = (leaf == ENDED_CANCELLED);
  /* Unregister */
  atomic {
    if
    :: slot == CANCELLER -> slot = EMPTY
    :: else -> skip
    fi
  };
#ifndef MUTANT
  ((slot & BUSY) == 0);
#endif
dead:
  canceller_alive = false;
  strand_done = true
}

proctype Source() {
  byte previous;
  /* the source knows the wait once parked; a strand cancelled before it
     registered never parks, and the source waiting for it is a valid end */
end_unparked:
  parked;
  atomic {
    previous = leaf;
    if
    :: leaf == ARMING || leaf == ARMED -> leaf = DONE
    :: else -> skip
    fi
  };
  if
  :: previous == ARMED -> resumes++
#ifdef MUTANT_ARMING
  :: previous == ARMING -> resumes++
#endif
  :: else -> skip
  fi;
  source_done = true
}

proctype Canceller() {
  byte taken;
  byte previous;
  bool early;
  atomic {
    taken = slot;
    early = !tried_register;
    if
    :: slot == EMPTY -> slot = CANCELLED
    :: slot == CANCELLER -> slot = CANCELLED | BUSY
    :: else -> skip
    fi
  };
  if
  :: taken == CANCELLER ->
     /* CancelWait() on the registered canceller */
     atomic {
       assert(canceller_alive);
       previous = leaf;
       if
       :: leaf == ARMING || leaf == ARMED -> leaf = ENDED_CANCELLED; cancel_won = true
       :: else -> skip
       fi
     };
     slot = CANCELLED;
     if
     :: previous == ARMED -> resumes++
     :: else -> skip
     fi
  /* marked before the registration: it fails. (Marked after the wait
     ended, it fails the strand's next wait: not modelled.) */
  :: taken == EMPTY && early -> cancel_won = true
  :: else -> skip
  fi;
  canceller_done = true
}

init {
  atomic { run Strand(); run Source(); run Canceller() }
  (strand_done && canceller_done && (source_done || !parked));
  assert(resumes == (suspended -> 1 : 0));
  assert(strand_saw_cancel == cancel_won)
}
