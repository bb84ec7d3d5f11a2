/*
 * The bounded push of a mailbox (mailbox/mailbox.h), checked over every
 * interleaving by spin.
 *
 * The head word holds the stack of pushed nodes and a 16-bit `bound` (here
 * saturating at MAX = 3, so that saturation is explored). The bound is an
 * upper bound of the mailbox's depth (stack + the owner's caches), never
 * below min(depth, MAX): a push adds one to both in its CAS, a pop lowers
 * only the depth, and each CAS of the owner (a take, a refresh, going idle)
 * writes the depth it knows exactly at that instant. A bounded push refuses
 * an ordinary node when the bound it would replace is >= CAP; so a node is
 * admitted only into a mailbox holding fewer than CAP nodes, with nothing
 * read but the word its CAS validates (no ABA question arises: any word
 * with the same bound is as good as the one read).
 *
 * The owner knows `base`, the bound it wrote at its last CAS less the
 * stack it left behind: while the bound is below MAX, bound - base is the
 * count of pushes since, i.e. the stack's size. A saturated bound says
 * nothing of the stack; the owner writes MAX (still a bound) and, having
 * counted what it took, resyncs by counting the stack in place.
 *
 * The model compares (stack, bound, state) in its CAS, not node addresses:
 * a superset of what the real CAS allows.
 *
 * Runs (PushRun): one CAS stacks two nodes at once.
 *
 * Checked: a bounded push never succeeds against a depth >= CAP; the bound
 * never falls below min(depth, MAX); the owner's count of the stack from
 * the bound is the real one; a push onto an idle mailbox wakes the owner,
 * which never stays idle with mail queued (every run ends with the owner
 * idle and nothing queued, or still running).
 *
 * -DMUTANT_RESET: a take resets the bound to 0 (counting only what is
 * pushed after it, as a count of the stack alone would): spin must find a
 * push admitted into a full mailbox.
 * -DMUTANT_SATURATION: the owner trusts a saturated bound as if it counted
 * the stack: spin must find the bound below the depth.
 * -DMUTANT_RUN_COUNT: a run adds one to the bound, not its length: spin
 * must find the owner's count of the stack wrong.
 */
#define MAX 3
#define CAP 2
#define RUNNING 0
#define BLOCKED 1

byte state = RUNNING;  /* the owner runs first (Mailbox::InitialState::kRunning) */
byte stack = 0;        /* nodes pushed and not taken */
byte bound = 0;
byte depth = 0;        /* stack + cached: the truth the bound must cover */
bool woken = false;

inline saturating_add(b) { if :: b < MAX -> b++ :: else -> skip fi }

/* An ordinary node from a bounded producer. */
proctype Bounded(byte pushes) {
  byte seen_stack, seen_bound, seen_state;
  do
  :: pushes == 0 -> break
  :: pushes > 0 ->
    atomic { seen_stack = stack; seen_bound = bound; seen_state = state };
    if
    :: seen_bound >= CAP -> pushes--  /* kFull: refused, the caller keeps it */
    :: else ->
      atomic {
        if
        :: stack == seen_stack && bound == seen_bound && state == seen_state ->
          assert(depth < CAP);
          stack++; depth++; saturating_add(bound);
          if :: state == BLOCKED -> state = RUNNING; woken = true :: else -> skip fi;
          pushes--
        :: else -> skip  /* the CAS failed: read again */
        fi
      }
    fi
  od;

}

/* A node exempt from the bound (the system lane): always pushed. */
proctype Exempt(byte pushes) {
  byte seen_stack, seen_bound, seen_state;
  do
  :: pushes == 0 -> break
  :: pushes > 0 ->
    atomic { seen_stack = stack; seen_bound = bound; seen_state = state };
    atomic {
      if
      :: stack == seen_stack && bound == seen_bound && state == seen_state ->
        stack++; depth++; saturating_add(bound);
        if :: state == BLOCKED -> state = RUNNING; woken = true :: else -> skip fi;
        pushes--
      :: else -> skip
      fi
    }
  od;

}

/* A run of two nodes stacked by one CAS (MailboxStack::PushRun): the
 * owner's accounting must not tell it from two pushes with nothing between
 * them. (PushRun is for unbounded mailboxes; here it is exempt from the
 * bound, as the system lane is, which asks more of the owner's counts.) */
proctype Run(byte runs) {
  byte seen_stack, seen_bound, seen_state;
  do
  :: runs == 0 -> break
  :: runs > 0 ->
    atomic { seen_stack = stack; seen_bound = bound; seen_state = state };
    atomic {
      if
      :: stack == seen_stack && bound == seen_bound && state == seen_state ->
        stack = stack + 2; depth = depth + 2; saturating_add(bound);
#ifndef MUTANT_RUN_COUNT
        saturating_add(bound);
#endif
        if :: state == BLOCKED -> state = RUNNING; woken = true :: else -> skip fi;
        runs--
      :: else -> skip
      fi
    }
  od;

}

active proctype Owner() {
  byte cached = 0;
  byte base = 0;
  byte seen_stack, seen_bound, next, counted;
  bool exact;
  do
  /* Pop: hand out a cached node. */
  :: cached > 0 -> atomic { cached--; depth-- }
  /* Take: the stack into the caches, the bound set to the depth. */
  :: stack > 0 ->
    atomic { seen_stack = stack; seen_bound = bound };
    exact = seen_bound < MAX && base < MAX;
#ifdef MUTANT_SATURATION
    exact = true;
#endif
    if
    :: exact ->
      assert(seen_bound - base == seen_stack);  /* the bound counts the stack */
      next = cached + seen_bound - base;
      if :: next > MAX -> next = MAX :: else -> skip fi
    :: else -> next = MAX
    fi;
#ifdef MUTANT_RESET
    next = 0;
#endif
    atomic {
      if
      :: stack == seen_stack && bound == seen_bound ->
        stack = 0; bound = next; counted = seen_stack; base = next
      :: else -> counted = 0
      fi
    };
    if
    :: counted > 0 ->
      cached = cached + counted;  /* the walk counts what was taken */
      if
      :: !exact ->
        /* Resync: count the stack in place; its nodes stay put. */
        do
        :: atomic { seen_stack = stack; seen_bound = bound };
          next = cached + seen_stack;
          if
          :: next >= MAX -> base = MAX; break  /* still saturated */
          :: else ->
            atomic {
              if
              :: stack == seen_stack && bound == seen_bound ->
                bound = next; base = cached; break
              :: else -> skip
              fi
            }
          fi
        od
      :: else -> skip
      fi
    :: else -> skip
    fi
  /* Refresh while saturated, nothing stacked: resync in place. */
  :: base == MAX && stack == 0 ->
    atomic { seen_stack = stack; seen_bound = bound };
    next = cached + seen_stack;
    if
    :: next < MAX ->
      atomic {
        if
        :: stack == seen_stack && bound == seen_bound -> bound = next; base = cached
        :: else -> skip
        fi
      }
    :: else -> skip
    fi
  /* Refresh: the bound lowered to the depth, the stack left in place. */
  :: base < MAX ->
    atomic { seen_stack = stack; seen_bound = bound };
    if
    :: seen_bound < MAX ->
      atomic {
        if
        :: stack == seen_stack && bound == seen_bound ->
          assert(seen_bound - base == seen_stack);
          bound = cached + seen_stack; base = cached
        :: else -> skip
        fi
      }
    :: else -> skip
    fi
  /* TryBlock: idle if nothing is cached and nothing was pushed. */
  :: cached == 0 ->
    atomic {
      if
      :: state == RUNNING && stack == 0 && bound == base ->
        state = BLOCKED; bound = 0; base = 0
      :: else -> skip
      fi
    };
    if
    :: state == BLOCKED ->
end_idle:
      woken;
      woken = false
    :: else -> skip
    fi
  od
}

init {
  atomic {
    run Bounded(1);
    run Bounded(2);
    run Exempt(1);
    run Run(1)
  }
}

/* The bound covers the depth at every step; idle means empty. */
active proctype Monitor() {
end_monitor:
  atomic {
    !((bound >= depth || bound == MAX) && (state != BLOCKED || depth == 0)) ->
      assert(false)
  }
}
