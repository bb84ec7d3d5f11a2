/*
 * The join protocol of a Go task and its JoinHandle
 * (async/internal/join_state.h), checked over every interleaving by spin.
 *
 * One word: 0 (running, the handle holds the state), JOINER (running, the
 * handle's owner waits), DETACHED (running, no handle) or DONE (ended).
 * The task writes its result, then exchanges the word to DONE: from
 * DETACHED it frees the state, from JOINER it wakes the joiner. The handle
 * either joins (CAS 0 -> JOINER; on failure the result is ready), takes
 * the result and lets go, or lets go at once (detach, or drop). Letting go
 * is a CAS 0 -> DETACHED; on failure (DONE) the handle frees the state.
 * A canceller (the handle's own Cancel(), or a Drop) may touch the state's
 * context at any point while the handle holds it.
 *
 * Checked: the state is freed exactly once, never touched after it is
 * freed, the result is read only after it was written, a registered
 * joiner is woken exactly once and never woken unregistered, and every
 * run ends (no joiner left asleep: a valid end state).
 *
 * -DMUTANT: the task frees the state when it finds the word at 0 instead
 * of leaving that to the handle (a "whoever ends frees" shortcut); spin
 * must find the use after free.
 */
#define RUNNING 0
#define JOINER 1
#define DETACHED 2
#define DONE 3

byte word = RUNNING;
bool result_written = false;
bool freed = false;
byte frees = 0;
bool joiner_registered = false;
byte wakes = 0;
bool handle_holds = true;

inline free_state() {
  atomic { assert(!freed); freed = true; frees++ }
}

/* any access to the state */
inline touch() { assert(!freed) }

proctype Task() {
  byte previous;
  touch(); result_written = true;
  atomic { previous = word; word = DONE };
  if
  :: previous == DETACHED -> free_state()
  :: previous == JOINER -> touch(); wakes++
#ifdef MUTANT
  :: previous == RUNNING -> free_state()
#else
  :: previous == RUNNING -> skip
#endif
  fi
}

proctype Handle() {
  bool joined;
  if
  :: /* join: await or Get() */
     atomic {
       touch();
       if
       :: word == RUNNING -> word = JOINER; joiner_registered = true; joined = true
       :: else -> joined = false
       fi
     };
     if
     :: joined -> (wakes > 0)  /* asleep until woken */
     :: else -> skip
     fi;
     touch(); assert(result_written);
     /* the result is taken; let go */
     atomic {
       touch();
       if
       :: word == RUNNING -> assert(false)  /* cannot be: the task ended */
       :: else -> skip
       fi
     };
     free_state()
  :: /* cancel (maybe), then detach or drop: let go */
     if :: touch() /* Cancel() */ :: skip fi;
     atomic {
       touch();
       if
       :: word == RUNNING -> word = DETACHED; joined = true
       :: else -> joined = false
       fi
     };
     if
     :: joined -> skip         /* the task frees it */
     :: else -> free_state()   /* ended already: ours to free */
     fi
  fi;
  handle_holds = false
}

init {
  atomic { run Task(); run Handle() }
  (_nr_pr == 1);
  assert(frees == 1);
  assert(wakes == (joiner_registered -> 1 : 0))
}
