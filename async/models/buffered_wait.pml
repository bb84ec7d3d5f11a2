/*
 * A task's wait on a buffered channel (async/channel.h, BufferedPark): the
 * wait stays registered for cancellation while it re-arms its channel
 * context between attempts, so a cancel can meet the context chosen by a
 * partner (and end nothing) just before a re-arm. Checked over every
 * interleaving by spin.
 *
 * One value is sent; a thief (another receiver) may take it first; a
 * canceller cancels the task's strand. The task registers its canceller
 * (Register), then tries: take a value, else register with the channel
 * (watching), then select itself as aborted if a value came meanwhile
 * (ReadyToRecv), then park (CAS WAITING -> PARKED). A sender puts the value
 * in the buffer and chooses a watching task (removing its entry, TOKEN).
 * Woken (by whoever chose a PARKED context), the task's next step settles:
 * unwatch unless chosen by TOKEN; cancelled if ABORTED and the strand is
 * cancelled; otherwise re-arm (WAITING) and try again, this time looking
 * for a cancel (CancelRequestedOnRearm) before it parks, and selecting
 * itself ABORTED if it finds one.
 *
 * Checked: the task ends (a cancel is never lost: an invalid end state if
 * it waits forever); it is woken at most once per park; CancelWait() never
 * runs on a dead frame; the value is never lost (the task, the thief or
 * the buffer has it) and never taken twice.
 *
 * -DMUTANT: no look for a cancel on re-arm; spin must find the task
 * waiting forever.
 */
#define WAITING 0
#define PARKED 1
#define TOKEN 2
#define ABORTED 3

#define EMPTY 0
#define CANCELLED 1
#define BUSY 2
#define CANCELLER 4

byte ctx = WAITING;
byte slot = EMPTY;
byte buffer = 0;
bool watching = false;
byte wakes = 0;
bool frame_alive = true;
bool task_got = false;
bool task_cancelled = false;
bool stolen = false;
bool task_done = false;
bool sender_done = false;
bool thief_done = false;
bool canceller_done = false;

proctype Task() {
  bool rearmed = false;
  byte selected;
  atomic {
    if
    :: slot == EMPTY -> slot = CANCELLER
    :: else -> task_cancelled = true; goto end_wait
    fi
  };
try_again:
  /* TryOrWatch: take a value, else watch, then the readiness check */
  atomic {
    if
    :: buffer > 0 -> buffer--; task_got = true
    :: else -> skip
    fi
  };
  if
  :: task_got -> goto end_wait
  :: else -> skip
  fi;
  watching = true;
  atomic {
    if
    :: buffer > 0 && ctx == WAITING -> ctx = ABORTED
    :: else -> skip
    fi
  };
#ifndef MUTANT
  if
  :: rearmed && (slot & CANCELLED) != 0 ->
     atomic {
       if
       :: ctx == WAITING -> ctx = ABORTED
       :: else -> skip
       fi
     }
  :: else -> skip
  fi;
#endif
  /* ParkTask */
  atomic {
    if
    :: ctx == WAITING -> ctx = PARKED
    :: else -> goto settle
    fi
  };
  (wakes > 0);
  wakes--;
settle:
  selected = ctx;
  if
  :: selected != TOKEN -> watching = false  /* Unwatch */
  :: else -> skip
  fi;
  if
  :: selected == ABORTED && (slot & CANCELLED) != 0 -> task_cancelled = true; goto end_wait
  :: else -> skip
  fi;
  ctx = WAITING;  /* Rearm */
  rearmed = true;
  goto try_again;
end_wait:
  /* Unregister, waiting while a CancelWait() runs; then the frame ends */
  atomic {
    if
    :: slot == CANCELLER -> slot = EMPTY
    :: else -> skip
    fi
  };
  ((slot & BUSY) == 0);
  frame_alive = false;
  task_done = true
}

proctype Sender() {
  byte previous;
  buffer++;
  /* Notify: choose a watching context (under the waiter list's lock) */
  atomic {
    previous = ctx;
    if
    :: watching && (ctx == WAITING || ctx == PARKED) -> ctx = TOKEN; watching = false
    :: else -> previous = TOKEN  /* chose nobody */
    fi
  };
  if
  :: previous == PARKED -> wakes++
  :: else -> skip
  fi;
  sender_done = true
}

proctype Thief() {
  atomic {
    if
    :: buffer > 0 -> buffer--; stolen = true
    :: else -> skip
    fi
  };
  thief_done = true
}

proctype Canceller() {
  byte taken;
  byte previous;
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
     /* CancelWait(): TrySelect(ABORTED); unpark if it found the task parked */
     atomic {
       assert(frame_alive);
       previous = ctx;
       if
       :: ctx == WAITING || ctx == PARKED -> ctx = ABORTED
       :: else -> skip
       fi
     };
     if
     :: previous == PARKED -> wakes++
     :: else -> skip
     fi;
     slot = CANCELLED
  :: else -> skip
  fi;
  canceller_done = true
}

init {
  atomic { run Task(); run Sender(); run Thief(); run Canceller() }
  (task_done && sender_done && thief_done && canceller_done);
  assert(wakes == 0);
  assert(!watching);  /* no entry left behind */
  assert(task_got + stolen + buffer == 1);
  assert(task_got || task_cancelled)
}
