/*
 * How a task parks on a channel context that lives in its own frame
 * (channel/internal/context.h: ParkTask, TrySelect, Unpark; async/channel.h:
 * ChannelPark), checked over every interleaving by spin.
 *
 * The task registers its context in a channel's waiter list (under the
 * list's lock) and then parks: a CAS of the context's word from WAITING to
 * PARKED. Two notifiers race for the word: a partner, which selects the
 * entry under the list's lock (a CAS from WAITING or PARKED to its token),
 * removes it, lets go of the lock and then, only if its CAS took PARKED,
 * wakes the task; and a canceller, which may strike at any moment while
 * the task's registration holds (the task's Unregister waits for it), and
 * selects ABORTED the same way. The task goes on either at once (its park
 * CAS failed: someone selected first) or when woken; it then removes its
 * entry if it is still there and frees the frame, context included.
 *
 * Checked: nobody touches the context after the frame is freed; the task
 * is woken exactly when it parked, and once; every run ends with the task
 * gone on (no task left parked forever: a valid end state).
 *
 * -DLOCKED: a rendezvous wait (Flavor::TryRecvOrPark): the task parks
 * with a plain store while it still holds the list's lock, and only then
 * registers with its strand for cancellation (a CAS that fails if the
 * strand was cancelled first: the task then undoes its entry and goes on).
 * Checked the same. -DLOCKED -DMUTANT_ORDER registers for cancellation
 * before the store: a canceller that selects in between is overwritten by
 * the park, and spin must find the task parked forever.
 *
 * -DMUTANT: the old thread-style handshake for a task: the owner raises a
 * sleep flag and then looks at the word, the notifier looks at the flag
 * after it selected; spin must find the owner touching a frame that was
 * resumed and freed under it.
 * -DMUTANT_LATE: the notifier decides whether to wake after letting go of
 * the lock, by reading the word again; spin must find the read of a freed
 * frame.
 */
#define WAITING 0
#define ABORTED 1
#define TOKEN 2
#define PARKED 3

bool mu = false;
bool registered = false;   /* the entry in the waiter list */
byte word = WAITING;       /* the context's selected_ */
bool freed = false;        /* the frame, and the context in it */
byte wakes = 0;
bool parked = false;       /* the task suspended (it parked) */
#ifdef LOCKED
bool cancel_registered = false;  /* the strand's cancellation slot */
bool cancelled = false;          /* the strand's cancellation mark */
#else
bool cancel_registered = true;  /* the strand's cancellation slot */
#endif
bool cancel_busy = false;
#ifdef MUTANT
bool sleeping = false;
#endif

inline touch() { assert(!freed) }
inline lock() { atomic { !mu -> mu = true } }
inline unlock() { mu = false }

/* A notifier's selection: sets `wake` when it must wake the task. */
inline try_select(token, won, wake) {
  atomic {
    touch();
    if
    :: word == WAITING -> word = token; won = true; wake = false
    :: word == PARKED -> word = token; won = true; wake = true
    :: else -> won = false; wake = false
    fi
  }
}

/* The task goes on past its wait (on whichever thread): unregisters from
 * the strand (waiting for a running canceller), removes its entry if it is
 * still there, and ends the frame. */
inline go_on() {
  atomic { !cancel_busy -> cancel_registered = false };
  lock(); touch(); registered = false; unlock();
  freed = true
}

proctype Resumed() { go_on() }

inline wake_task() { atomic { wakes++; run Resumed() } }

#ifdef LOCKED
/* Registers with the strand unless it was cancelled: sets `ok`. */
inline register_cancel(ok) {
  atomic { if :: !cancelled -> cancel_registered = true; ok = true :: else -> ok = false fi }
}

proctype Task() {
  bool ok;
  lock(); touch(); registered = true;
#ifdef MUTANT_ORDER
  register_cancel(ok);
  if :: ok -> touch(); word = PARKED :: else -> skip fi;
#else
  touch(); word = PARKED;
  register_cancel(ok);
#endif
  if
  :: ok -> unlock(); parked = true  /* touches nothing more */
  :: else -> touch(); registered = false; word = WAITING; unlock(); freed = true
  fi
}
#else
proctype Task() {
  bool suspended = false;
  lock(); touch(); registered = true; unlock();
#ifdef MUTANT
  byte seen;
  touch(); sleeping = true;
  atomic { touch(); seen = word };
  if
  :: seen == WAITING -> suspended = true
  :: else ->
     atomic {
       touch();
       if
       :: sleeping -> sleeping = false  /* ours: go on */
       :: else -> suspended = true       /* the notifier took it: it wakes us */
       fi
     }
  fi;
#else
  atomic {
    touch();
    if
    :: word == WAITING -> word = PARKED; suspended = true
    :: else -> skip
    fi
  };
#endif
  if
  :: suspended -> parked = true  /* touches nothing more: Resumed goes on */
  :: else -> go_on()
  fi
}
#endif

proctype Partner() {
  bool won, wake;
  lock();
  if
  :: registered -> try_select(TOKEN, won, wake);
     if :: won -> registered = false :: else -> skip fi
  :: else -> won = false
  fi;
  unlock();
#ifdef MUTANT
  if
  :: won -> atomic { touch(); if :: sleeping -> sleeping = false; wake_task() :: else -> skip fi }
  :: else -> skip
  fi
#elif defined(MUTANT_LATE)
  if
  :: won -> atomic { touch(); if :: word != WAITING -> wake_task() :: else -> skip fi }
  :: else -> skip
  fi
#else
  if
  :: wake -> wake_task()  /* the task waits for this: its frame is alive */
  :: else -> skip
  fi
#endif
}

/* Cancellation at any moment; it reaches the wait only while the task's
 * registration with its strand holds (TaskContext::Cancel takes the slot). */
proctype Canceller() {
  bool won, wake, reached;
  atomic {
#ifdef LOCKED
    cancelled = true;
#endif
    if
    :: cancel_registered -> cancel_busy = true; reached = true
    :: else -> reached = false
    fi
  };
  if
  :: reached ->
     try_select(ABORTED, won, wake);
#ifdef MUTANT
     if
     :: won -> atomic { touch(); if :: sleeping -> sleeping = false; wake_task() :: else -> skip fi }
     :: else -> skip
     fi;
#else
     if :: wake -> wake_task() :: else -> skip fi;
#endif
     cancel_busy = false
  :: else -> skip
  fi
}

init {
  atomic { run Task(); run Partner(); run Canceller() }
  (_nr_pr == 1);
  assert(freed);
  assert(wakes == (parked -> 1 : 0))
}
