/*
 * The thread pool's sleep protocol with its idle stack (threads/thread_pool.h,
 * "Idle workers..."; internal/pool_worker.cc; internal/idle_stack.h),
 * checked over every interleaving by spin. Promela's statements are
 * sequentially consistent, as the protocol's atomics are (seq_cst).
 *
 * Submitters publish a task, then read `sleepers` and `searching` and, if
 * someone sleeps and nobody searches, wake the worker on top of the idle
 * stack. A worker that finds no task gets on the stack, announces itself
 * (sleepers++, searching--), looks for a task once more and, finding none,
 * waits until a waker picks it; then it leaves the stack (if still on it)
 * and searches again. A searcher that finds a task, if it was the last
 * searcher and more work is visible with someone asleep, wakes one more.
 *
 * Checked: when nothing can move any more (every worker asleep, the
 * submitters done), no task is left queued: no wake-up is lost. With
 * -DJOIN, a joiner sets `stopping` once the submitters are done and wakes
 * every sleeper on the stack, and workers exit once stopping with nothing
 * queued: checked that every worker has exited by the end.
 *
 * -DMUTANT_LOOK_FIRST: the worker looks for a task before it announces
 * itself; -DMUTANT_LATE_ENTER: it gets on the stack only after its last
 * look (so a submitter that sees it announced finds the stack empty).
 * Spin must find a task stranded with every worker asleep in both.
 * -DJOIN -DMUTANT_WAKE_FIRST: the joiner wakes the sleepers before it sets
 * `stopping`: spin must find a worker asleep for ever.
 */
#define W 2          /* workers */
#define S 2          /* submitters, one task each */
#define NONE 255

byte tasks;          /* queued, visible to every worker */
byte sleepers;
byte searching;
bool stopping;
byte submitted;      /* submitters done */
byte exited;         /* workers that left their loop (JOIN) */

byte stack[W];       /* the idle stack; stack[top-1] went to sleep last */
byte top;
bool woken[W];

/* IdleStack::WakeOne(): pop the top sleeper under the lock, then set its word. */
inline wake_one() {
  picked = NONE;
  atomic {
    if
    :: top > 0 -> top--; picked = stack[top]; stack[top] = NONE
    :: else -> skip
    fi
  }
  if
  :: picked != NONE -> woken[picked] = true
  :: else -> skip
  fi
}

/* IdleStack::Enter() */
inline enter(me) {
  atomic { woken[me] = false; stack[top] = me; top++ }
}

/* IdleStack::Leave(): remove `me` if a waker has not popped it. */
inline leave(me) {
  atomic {
    i = 0;
    do
    :: i < top && stack[i] != me -> i++
    :: i < top && stack[i] == me ->
       do
       :: i + 1 < top -> stack[i] = stack[i + 1]; i++
       :: else -> break
       od;
       top--; stack[top] = NONE; break
    :: i >= top -> break
    od
  }
}

proctype Submitter() {
  byte picked;
  tasks++;                                /* publish */
  if
  :: sleepers > 0 && searching == 0 -> wake_one()
  :: else -> skip
  fi;
  submitted++
}

proctype Worker(byte me) {
  bool found, last;
  byte i, picked;
search:
#ifdef JOIN
  if
  :: stopping && tasks == 0 -> goto out
  :: else -> skip
  fi;
#endif
  searching++;
  atomic {
    if
    :: tasks > 0 -> tasks--; found = true
    :: else -> found = false
    fi
  }
  if
  :: found ->
     atomic { searching--; last = (searching == 0) }
     if
     :: last && sleepers > 0 && tasks > 0 -> wake_one()
     :: else -> skip
     fi;
     goto search                          /* ran it */
  :: else -> skip
  fi;
  /* Sleep. */
#ifdef MUTANT_LOOK_FIRST
  if
  :: tasks > 0 || stopping -> searching--; goto search
  :: else -> skip
  fi;
  enter(me);
  sleepers++;
  searching--;
  goto sleep;
#endif
#ifndef MUTANT_LATE_ENTER
  enter(me);
#endif
  sleepers++;
  searching--;
  if
  :: tasks > 0 || stopping ->
#ifdef MUTANT_LATE_ENTER
     skip
#else
     leave(me)
#endif
  :: else ->
#ifdef MUTANT_LATE_ENTER
     enter(me);
#endif
sleep:
end_asleep:
     woken[me];                           /* IdleStack::Wait() */
     leave(me)
  fi;
  sleepers--;
  goto search;
out:
  exited++
}

#ifdef JOIN
proctype Joiner() {
  byte picked;
  submitted == S;
#ifndef MUTANT_WAKE_FIRST
  stopping = true;
#endif
  /* IdleStack::WakeAll() */
  do
  :: top > 0 -> wake_one()
  :: else -> break
  od;
#ifdef MUTANT_WAKE_FIRST
  stopping = true
#endif
}
#endif

/* Runs only when nothing else can: every worker asleep, submitters done. */
proctype Quiescence() {
  timeout ->
  assert(submitted < S || tasks == 0);
#ifdef JOIN
  assert(exited == W)
#endif
}

init {
  byte i;
  for (i : 0 .. W - 1) { stack[i] = NONE }
  atomic {
    run Quiescence();
    for (i : 0 .. W - 1) { run Worker(i) }
    for (i : 1 .. S) { run Submitter() }
#ifdef JOIN
    run Joiner()
#endif
  }
}
