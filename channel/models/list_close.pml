/*
 * The unbounded channel's close protocol (channel/internal/list_flavor.h over
 * threads/internal/injection_queue.h), checked over every interleaving by
 * spin.
 *
 * The queue numbers positions in laps of BLOCK + 1: offsets 0..BLOCK-1 are
 * slots of one block, offset BLOCK means "the next block is being
 * installed". The closed bit lives in tail_, so a push's claiming CAS fails
 * once the queue is closed. A receive that finds nothing reports kClosed only
 * when the queue is closed and no position was claimed beyond the consumer's
 * (MaybeNonEmpty() false): a push still writing its slot keeps the receiver
 * waiting for it.
 *
 * Two senders send PER_SENDER values each, one receiver drains until kClosed,
 * a closer closes at an arbitrary moment. At the end every value whose send
 * returned OK was received exactly once and the others were handed back.
 * Blocks are modelled by their "linked" flag (memory reuse is the queue's
 * own documented argument (D), not part of the close protocol). Each
 * statement is one atomic step (the tail CAS and its loads are seq_cst; a
 * slot's ready flag is release/acquire).
 *
 * -DMUTANT: the receiver ignores MaybeNonEmpty() and stops at the first
 * empty pop after the close; spin must find the lost value then.
 */
#define PER_SENDER 2
#define N (2 * PER_SENDER)
#define BLOCK 2
#define LAP 3
#define CLOSED 64
#define POSITIONS 9      /* enough laps for N values */
#define SENT 1
#define BACK 2

byte tail_ = 0;
byte head_index = 0;
bool ready[POSITIONS];
byte value[POSITIONS];
bool linked[4];          /* linked[b]: block b is reachable from block b - 1 */
byte fate[N + 1];
byte got[N + 1];
byte done = 0;

proctype Sender(byte first) {
  byte v = first;
  byte tail;
  byte offset;
  do
  :: v >= first + PER_SENDER -> break
  :: v < first + PER_SENDER ->
     do
     :: true ->
        tail = tail_;
        if
        :: (tail & CLOSED) != 0 -> fate[v] = BACK; goto out
        :: else -> skip
        fi;
        offset = tail % LAP;
        if
        :: offset == BLOCK -> skip                 /* installing: wait */
        :: offset != BLOCK ->
             atomic {                              /* (A) CAS tail_ */
               if
               :: tail_ == tail -> tail_ = tail + 1; offset = offset + 10
               :: else -> skip
               fi
             }
             if
             :: offset >= 10 ->
                  offset = offset - 10;
                  if
                  :: offset + 1 == BLOCK ->        /* (D) last slot: install the next block */
                       atomic { tail_ = tail_ + 1 };   /* fetch_add keeps the closed bit */
                       linked[tail / LAP + 1] = true
                  :: else -> skip
                  fi;
                  value[tail] = v;
                  ready[tail] = true;              /* (B) */
                  fate[v] = SENT;
                  break
             :: else -> skip                       /* lost the CAS: retry */
             fi
        fi
     od;
     v++
  od;
out:
  done++
}

proctype Receiver() {
  byte head_block = 0;
  byte head_offset = 0;
  byte pos;
  byte v;
  bool closed;
  do
  :: true ->
     /* Pop() */
     v = 0;
     if
     :: head_offset == BLOCK && linked[head_block + 1] ->
          head_block++;
          head_offset = 0;
          head_index++
     :: else -> skip
     fi;
     if
     :: head_offset != BLOCK ->
          pos = head_block * LAP + head_offset;
          if
          :: ready[pos] ->                         /* (C) */
               v = value[pos];
               assert(v != 0);
               got[v]++;
               value[pos] = 0;
               head_offset++;
               head_index++
          :: else -> skip
          fi
     :: else -> skip
     fi;
     if
     :: v != 0 -> skip
     :: v == 0 ->                                  /* nothing: closed and drained? */
          closed = (tail_ & CLOSED) != 0;
#ifdef MUTANT
          if :: closed -> break :: else -> skip fi
#else
          if
          :: closed && (tail_ & ~CLOSED) == head_index -> break   /* kClosed */
          :: else -> skip
          fi
#endif
     fi
  od;
  done++
}

proctype Closer() {
  atomic { tail_ = tail_ | CLOSED };
  done++
}

init {
  byte i;
  linked[0] = true;
  atomic {
    run Sender(1);
    run Sender(1 + PER_SENDER);
    run Receiver();
    run Closer()
  }
  (done == 4);
  i = 1;
  do
  :: i <= N ->
     assert(got[i] == (fate[i] == SENT -> 1 : 0));
     i++
  :: else -> break
  od
}
