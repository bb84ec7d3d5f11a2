/*
 * The bounded channel's close protocol (channel/internal/array_flavor.h:
 * Vyukov's bounded MPMC queue with crossbeam's lap-stamped positions and a
 * closed bit in tail_), checked over every interleaving by spin.
 *
 * SENDERS senders send PER_SENDER values each; RECEIVERS receivers drain
 * until kClosed; a closer closes the channel at an arbitrary moment. At the
 * end every value whose send returned OK was received exactly once and
 * every other value was handed back, and nothing is left in the ring.
 *
 * Each statement is one atomic step (sequential consistency): the code's
 * index CAS and the loads of the other index are seq_cst, and a slot's stamp
 * is release/acquire. A full ring and an empty one are retries (the code
 * parks and retries), so this checks safety, not wake-ups. The batch paths
 * (SendRun/RecvRun) claim runs with the same CAS and the same closed-bit
 * check and are not modelled separately.
 *
 * -DMUTANT: the receiver takes the closed bit as the end without comparing
 * the indices (a plausible slip); spin must find the lost value then.
 */
#ifndef RECEIVERS
#define RECEIVERS 1
#endif
#ifndef PER_SENDER
#define PER_SENDER 2
#endif
#define SENDERS 2
#define N (SENDERS * PER_SENDER)
#define CAP 2
#define MARK 4         /* the smallest power of two above CAP */
#define ONE_LAP 8      /* 2 * MARK */
#define SENT 1
#define BACK 2

int tail_ = 0;
int head_ = 0;
int stamp[CAP];
byte slot[CAP];
byte fate[N + 1];
byte got[N + 1];
byte done = 0;

proctype Sender(byte first) {
  byte v = first;
  int tail;
  int idx;
  int lap;
  int new_tail;
  int st;
  int head;
  do
  :: v >= first + PER_SENDER -> break
  :: v < first + PER_SENDER ->
     tail = tail_;
     do
     :: (tail & MARK) != 0 -> fate[v] = BACK; goto out   /* kClosed: value back */
     :: (tail & MARK) == 0 ->
        idx = tail & (MARK - 1);
        lap = tail & ~(ONE_LAP - 1);
        if
        :: idx + 1 < CAP -> new_tail = tail + 1
        :: else -> new_tail = lap + ONE_LAP
        fi;
        st = stamp[idx];
        if
        :: tail == st ->
             atomic {                                    /* CAS tail_ */
               if
               :: tail_ == tail -> tail_ = new_tail; tail = -1
               :: else -> tail = tail_
               fi
             }
             if
             :: tail == -1 ->
                  tail = new_tail;                       /* unused from here */
                  slot[idx] = v;
                  stamp[idx] = st + 1;                    /* release: published */
                  fate[v] = SENT;
                  break
             :: else -> skip
             fi
        :: tail != st && st + ONE_LAP == tail + 1 ->
             head = head_;
             /* full (head + ONE_LAP == tail) or head moved on: retry */
             tail = tail_
        :: tail != st && st + ONE_LAP != tail + 1 ->
             tail = tail_                                /* another sender is writing */
        fi
     od;
     v++
  od;
out:
  done++
}

proctype Receiver() {
  int head;
  int idx;
  int lap;
  int new_head;
  int st;
  int tail;
  byte v;
  head = head_;
  do
  :: true ->
     idx = head & (MARK - 1);
     lap = head & ~(ONE_LAP - 1);
     st = stamp[idx];
     if
     :: head + 1 == st ->
          if
          :: idx + 1 < CAP -> new_head = head + 1
          :: else -> new_head = lap + ONE_LAP
          fi;
          atomic {                                       /* CAS head_ */
            if
            :: head_ == head -> head_ = new_head; v = 1
            :: else -> head = head_; v = 0
            fi
          }
          if
          :: v == 1 ->
               v = slot[idx];
               assert(v != 0);
               got[v]++;
               slot[idx] = 0;
               stamp[idx] = head + ONE_LAP;
               head = head_
          :: else -> skip
          fi
     :: head + 1 != st && st == head ->
          tail = tail_;
#ifdef MUTANT
          if :: (tail & MARK) != 0 -> goto closed :: else -> skip fi;
#endif
          if
          :: (tail & ~MARK) == head && (tail & MARK) != 0 -> break   /* kClosed */
          :: (tail & ~MARK) == head && (tail & MARK) == 0 -> head = head_  /* kEmpty: retry */
          :: (tail & ~MARK) != head -> head = head_
          fi
     :: head + 1 != st && st != head -> head = head_     /* another receiver is reading */
     fi
  od;
closed:
  done++
}

proctype Closer() {
  atomic { tail_ = tail_ | MARK };                       /* fetch_or */
  done++
}

init {
  byte i;
  atomic {
    i = 0;
    do
    :: i < CAP -> stamp[i] = i; i++
    :: else -> break
    od;
    run Sender(1);
    run Sender(1 + PER_SENDER);
    i = 0;
    do
    :: i < RECEIVERS -> run Receiver(); i++
    :: else -> break
    od;
    run Closer()
  }
  (done == SENDERS + RECEIVERS + 1);
  i = 1;
  do
  :: i <= N ->
     assert(got[i] == (fate[i] == SENT -> 1 : 0));
     i++
  :: else -> break
  od;
  i = 0;
  do
  :: i < CAP -> assert(slot[i] == 0); i++
  :: else -> break
  od
}
