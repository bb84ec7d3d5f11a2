/*
 * SpscChannel's close protocol (channel/spsc.h), checked over every
 * interleaving of one sender and one receiver by spin.
 *
 * The sender sends N values into a ring of CAP slots and then drops its
 * handle (CloseFromSender). The receiver may close at any point between two
 * receives (CloseFromReceiver), and drains until it sees kClosed. At the end
 * every value for which Send() returned OK was received exactly once, in
 * order, and every other value was handed back to the sender.
 *
 * Each statement is one atomic step, so the model is sequentially
 * consistent. The code earns that for the steps that matter here: the
 * slot/index pairs are release/acquire, and the "publish; look at close_at_"
 * against "mark closing; read tail_" handshake is ordered by the asymmetric
 * fences (a Dekker pair). A full ring is modelled as a retry (the code parks
 * and retries), so the check covers safety, not wake-ups.
 *
 * The sender looks at the close only after publishing (and when the ring is
 * full): a send after the close publishes, sees it, and takes its value
 * back, as the code does.
 *
 * -DOLD_PROTOCOL models the code before the fix: the sender did not look at
 * the close again after publishing. spin must find the lost value then.
 */
#define CAP 2
#define N 3
#define OPEN 255
#define CLOSING 254
#define SENT 1
#define BACK 2

byte slot[CAP];          /* 0: free; otherwise the value it holds */
byte tail = 0;
byte head = 0;
byte close_at = OPEN;
byte fate[N + 1];        /* what Send() said of each value: SENT or BACK */
byte got[N + 1];         /* how often each value was received */
bool sender_done = false;
bool receiver_done = false;

proctype Sender() {
  byte v = 1;
  byte t;
  byte at;
  byte cached_head = 0;
  do
  :: v > N -> break
  :: v <= N ->
#ifdef OLD_PROTOCOL
     if
     :: close_at != OPEN -> fate[v] = BACK; break   /* the old check at the door */
     :: else -> skip
     fi;
#endif
     t = tail;
     if
     :: t - cached_head == CAP ->
          cached_head = head;
          if
          :: t - cached_head == CAP && close_at != OPEN -> fate[v] = BACK; break
          :: t - cached_head == CAP && close_at == OPEN -> goto retry   /* full */
          :: else -> skip
          fi
     :: else -> skip
     fi;
     slot[t % CAP] = v;
     tail = t + 1;               /* publish; then LightFence() */
     at = close_at;
     if
     :: at == OPEN -> fate[v] = SENT; v++
     :: else ->
#ifdef OLD_PROTOCOL
          fate[v] = SENT; v++
#else
          (close_at != CLOSING);  /* the receiver writes its position */
          at = close_at;
          if
          :: t < at -> fate[v] = SENT; v++
          :: else ->
               assert(slot[t % CAP] == v);
               slot[t % CAP] = 0;  /* take the value back */
               tail = t;
               fate[v] = BACK;
               break
          fi
#endif
     fi;
retry: skip
  od;
  atomic {                       /* the handle goes away: CloseFromSender() */
    if
    :: close_at == OPEN -> close_at = tail
    :: else -> skip
    fi
  }
  sender_done = true
}

proctype Receiver() {
  byte h;
  byte at;
  byte cached_tail = 0;
  byte expect = 1;
  bool closed_once = false;
  bool mine;
  do
  :: !closed_once ->             /* Close(), at any point between receives */
     closed_once = true;
     atomic {
       if
       :: close_at == OPEN -> close_at = CLOSING; mine = true
       :: else -> mine = false
       fi
     }
     if
     :: mine -> at = tail; close_at = at   /* after HeavyFence() */
     :: else -> skip
     fi
  :: true ->                     /* TryPop() */
     h = head;
     if
     :: h != cached_tail -> skip
     :: h == cached_tail ->
          at = close_at;
          if
          :: at < CLOSING && h == at -> break   /* kClosed */
          :: at < CLOSING && h != at -> cached_tail = at
          :: at >= CLOSING -> cached_tail = tail
          fi
     fi;
     if
     :: h == cached_tail -> skip             /* kEmpty: try again */
     :: h != cached_tail ->
          assert(slot[h % CAP] == expect);   /* live, and in order */
          got[expect]++;
          slot[h % CAP] = 0;
          expect++;
          head = h + 1
     fi
  od;
  receiver_done = true
}

init {
  byte i = 1;
  run Sender();
  run Receiver();
  (sender_done && receiver_done);
  do
  :: i <= N ->
     assert(got[i] == (fate[i] == SENT -> 1 : 0));
     i++
  :: else -> break
  od;
  assert(tail == head)           /* nothing left alive in the ring */
}
