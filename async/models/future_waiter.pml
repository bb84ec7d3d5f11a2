/*
 * A task awaiting a future: the consumer word of a future's shared state
 * (threads/internal/future_state.h: Await, Withdraw, and the setter's
 * claim in EmplaceResult) with the strand's cancellation slot (the same
 * slot as cancel_slot.pml), checked over every interleaving by spin.
 *
 * The strand registers its canceller in the slot, then its waiter in the
 * state's word (CAS EMPTY -> WAITER). The setter claims a registered
 * waiter (CAS WAITER -> DONE), builds the result in it and resumes it;
 * finding no waiter, it stores the result in the state and exchanges the
 * word to DONE, serving whatever consumer registered meanwhile (a waiter,
 * or the discarding callback the awaiter leaves when it goes unserved). A
 * cancel takes the canceller out of the slot and runs CancelWait(): a
 * Withdraw() that takes the waiter back (WAITER -> EMPTY: the cancel ends
 * the wait) or, when the strand is still arming (EMPTY), marks the word
 * (WITHDRAWN) so that the strand's Await() fails and it goes on cancelled.
 * The setter may never come (an ask nobody answers): a cancel must still
 * end the wait.
 *
 * Checked: the strand is resumed exactly once if it suspended and never
 * if it did not; nothing writes to the waiter after the strand is gone;
 * the strand sees "cancelled" exactly when a cancel ended its wait, and
 * the value otherwise; a value that comes to a cancelled strand is dropped
 * (the discarding callback runs), not kept; the word is never left holding
 * a waiter or the mark; every run ends (no lost wake-up).
 *
 * -DMUTANT_ARMING: Withdraw() does not mark the word when the strand is
 * still arming (a cancel between registration and Await() is lost and the
 * strand waits forever for a setter that never comes); spin must find it.
 * -DMUTANT_CLAIM: the setter reads the waiter and then writes DONE in a
 * separate step, no CAS (a withdrawn waiter is resumed a second time, or
 * written after its frame is gone); spin must find it.
 */
#define EMPTY 0
#define CANCELLED 1
#define BUSY 2
#define CANCELLER 4

#define W_EMPTY 0
#define W_DONE 1
#define W_WITHDRAWN 2
#define W_WAITER 3
#define W_CALLBACK 4

byte slot = EMPTY;
byte word = W_EMPTY;
bool suspended = false;
byte resumes = 0;
bool waiter_alive = true;
bool waiter_result = false;   /* the result built in the waiter */
bool state_result = false;    /* the result stored in the state */
bool dropped = false;         /* the discarding callback ran */
bool cancelled_flag = false;  /* the awaiter's cancelled_ */
bool cancel_ended_wait = false;
bool strand_saw_cancel = false;
bool strand_got_value = false;
bool tried_register = false;
bool strand_done = false;
bool setter_ran = false;
bool setter_done = false;
bool canceller_done = false;

proctype Strand() {
  bool registered;
  byte outcome;  /* 0 waiting, 1 ready, 2 withdrawn */
  atomic {
    tried_register = true;
    if
    :: slot == EMPTY -> slot = CANCELLER; registered = true
    :: else -> registered = false
    fi
  };
  if
  :: !registered -> cancelled_flag = true; cancel_ended_wait = true; goto resume
  :: else -> skip
  fi;
  /* Await() */
  atomic {
    if
    :: word == W_EMPTY -> word = W_WAITER; outcome = 0; suspended = true
    :: word == W_DONE -> outcome = 1
    :: word == W_WITHDRAWN -> outcome = 2
    fi
  };
  if
  :: outcome == 2 ->
     atomic {
       if
       :: word == W_WITHDRAWN -> word = W_EMPTY
       :: else -> skip
       fi
     };
     cancelled_flag = true;
     cancel_ended_wait = true
  :: outcome == 0 -> (resumes > 0)
  :: else -> skip
  fi;
  /* await_resume: Unregister, then the outcome */
  atomic {
    if
    :: slot == CANCELLER -> slot = EMPTY
    :: else -> skip
    fi
  };
  ((slot & BUSY) == 0);
resume:
  if
  :: cancelled_flag -> strand_saw_cancel = true
  :: !cancelled_flag && waiter_result -> strand_got_value = true
  :: !cancelled_flag && !waiter_result -> assert(state_result); strand_got_value = true
  fi;
  /* ~FutureAwaiter: unserved, it leaves the discarding callback */
  if
  :: !waiter_result ->
     atomic {
       if
       :: word == W_EMPTY -> word = W_CALLBACK
       :: word == W_DONE -> dropped = true  /* runs at once on the stored value */
       :: else -> assert(false)  /* a waiter or the mark left behind */
       fi
     }
  :: else -> skip
  fi;
  waiter_alive = false;
  strand_done = true
}

proctype Setter() {
  byte seen;
  if
  :: skip
  :: goto end_never  /* nobody ever answers */
  fi;
  setter_ran = true;
  seen = word;  /* the load before the claim */
  if
  :: seen == W_WAITER ->
#ifndef MUTANT_CLAIM
     atomic {
       if
       :: word == W_WAITER -> word = W_DONE; seen = W_DONE + 10  /* claimed */
       :: else -> skip
       fi
     }
#else
     word = W_DONE; seen = W_DONE + 10
#endif
  :: else -> skip
  fi;
  if
  :: seen == W_DONE + 10 ->
     assert(waiter_alive);
     waiter_result = true;
     resumes++
  :: else ->
     state_result = true;
     atomic { seen = word; word = W_DONE };
     if
     :: seen == W_WAITER -> assert(waiter_alive); waiter_result = true; resumes++
     :: seen == W_CALLBACK -> dropped = true
     :: else -> skip
     fi
  fi;
  setter_done = true;
end_never:
  skip
}

proctype Canceller() {
  byte taken;
  bool withdrew = false;
  atomic {
    taken = slot;
    if
    :: slot == EMPTY -> slot = CANCELLED
    :: slot == CANCELLER -> slot = CANCELLED | BUSY
    :: else -> skip
    fi
  };
  if
  :: taken == CANCELLER ->
     /* CancelWait(): Withdraw() */
     atomic {
       assert(waiter_alive);
       if
       :: word == W_WAITER -> word = W_EMPTY; withdrew = true
#ifndef MUTANT_ARMING
       :: word == W_EMPTY -> word = W_WITHDRAWN
#else
       :: word == W_EMPTY -> skip
#endif
       :: else -> skip
       fi
     };
     if
     :: withdrew -> cancelled_flag = true; cancel_ended_wait = true
     :: else -> skip
     fi;
     slot = CANCELLED;
     if
     :: withdrew -> resumes++
     :: else -> skip
     fi
  :: else -> skip
  fi;
  canceller_done = true
}

init {
  atomic { run Strand(); run Setter(); run Canceller() }
  (strand_done && canceller_done);
  (setter_done || !setter_ran);
  assert(resumes == (suspended -> 1 : 0));
  assert(strand_saw_cancel == cancel_ended_wait);
  assert(strand_got_value == !strand_saw_cancel);
  assert(!(setter_done && strand_saw_cancel) || dropped);
  assert(word == W_DONE || word == W_CALLBACK || word == W_EMPTY)
}
