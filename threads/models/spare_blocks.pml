/*
 * The spare blocks of the injection queue (threads/internal/injection_queue.h,
 * (E)), checked over every interleaving by spin.
 *
 * The consumer (one at a time: the consumer lock hands head_* from one to
 * the next, so the model has one) empties installed blocks. It keeps each
 * in the first empty spare slot, found with a relaxed load as a hint and
 * claimed with a CAS from null, or frees it when every slot is full.
 * Producers about to install a block look for a non-null slot (a relaxed
 * hint) and take it with an exchange to null; finding none, they allocate
 * (not modelled: a fresh block touches no slot).
 *
 * Checked: a block a producer takes is a spare (never freed, never held or
 * installed by anyone else), so no two producers install the same block
 * and none installs a freed one; no block sits in two slots; and at the
 * end every block is installed, a spare or freed once (none lost).
 *
 * -DMUTANT_TAKE: a producer takes with a load and a store of null instead
 * of the exchange: spin must find two producers holding one block.
 * -DSTORE_PUT: the consumer claims an empty slot with a plain store, not a
 * CAS. It must verify: only the consumer fills slots, so a slot it saw
 * empty stays empty until it fills it (the CAS is not needed for safety).
 */
#define NB 3        /* blocks */
#define NS 2        /* spare slots */
#define NONE 255
#define INSTALLED 0 /* in the queue, in use */
#define SPARE 1
#define HELD 2      /* taken by a producer, about to be installed */
#define FREED 3
#define EMPTIED 4   /* emptied, the consumer's */

byte where[NB];     /* all INSTALLED (0) at the start */
byte slot[NS] = NONE;

proctype Consumer() {
  byte b, i, seen;
  byte rounds = 0;
  do
  :: rounds < 4 ->
     /* empty some installed block */
     if
     :: where[0] == INSTALLED -> b = 0
     :: where[1] == INSTALLED -> b = 1
     :: where[2] == INSTALLED -> b = 2
     :: else -> break
     fi;
     where[b] = EMPTIED;
     rounds++;
     /* KeepAsSpare */
     i = 0;
     do
     :: i < NS ->
        seen = slot[i];          /* the relaxed hint */
        if
        :: seen != NONE -> i++
        :: else ->
#ifdef STORE_PUT
           atomic { assert(slot[i] == NONE); slot[i] = b; where[b] = SPARE };
           goto kept
#else
           if
           :: atomic { slot[i] == NONE -> slot[i] = b; where[b] = SPARE };
              goto kept
           :: atomic { slot[i] != NONE -> skip }; i++   /* the CAS failed */
           fi
#endif
        fi
     :: else -> break
     od;
     where[b] = FREED;           /* every slot full: delete */
kept: skip
  :: else -> break
  od
}

proctype Producer() {
  byte i, b, seen;
  byte rounds = 0;
  do
  :: rounds < 2 ->
     rounds++;
     /* TakeSpareOrNew */
     i = 0;
     do
     :: i < NS ->
        seen = slot[i];          /* the relaxed hint */
        if
        :: seen == NONE -> i++
        :: else ->
#ifdef MUTANT_TAKE
           b = slot[i];
           slot[i] = NONE;
#else
           atomic { b = slot[i]; slot[i] = NONE };
#endif
           if
           :: b != NONE ->
              assert(where[b] == SPARE);
              where[b] = HELD;
              where[b] = INSTALLED;   /* installed: the consumer may empty it */
              break
           :: else -> i++
           fi
        fi
     :: else -> break             /* no spare: a new block (not modelled) */
     od
  :: else -> break
  od
}

init {
  atomic { run Consumer(); run Producer(); run Producer() };
  /* Everyone done (the invariant's watcher and this remain): no block
     lost or left half-handed-over. */
  _nr_pr == 2;
  assert(where[0] != HELD && where[0] != EMPTIED);
  assert(where[1] != HELD && where[1] != EMPTIED);
  assert(where[2] != HELD && where[2] != EMPTIED);
  assert((where[0] == SPARE) == (slot[0] == 0 || slot[1] == 0));
  assert((where[1] == SPARE) == (slot[0] == 1 || slot[1] == 1));
  assert((where[2] == SPARE) == (slot[0] == 2 || slot[1] == 2))
}

/* At every step: no block in two slots, and a block in a slot is a spare
   (a block just taken out of its slot is still marked a spare for a step:
   the take's own assertion checks it). */
#define CONSISTENT \
  ((slot[0] == NONE || slot[0] != slot[1]) && \
   (slot[0] == NONE || where[slot[0]] == SPARE) && \
   (slot[1] == NONE || where[slot[1]] == SPARE))

active proctype Invariant() {
end_watch:
  atomic { !CONSISTENT -> assert(false) }
}
