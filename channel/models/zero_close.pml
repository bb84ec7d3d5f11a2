/*
 * The rendezvous channel's close protocol (channel/internal/zero_flavor.h,
 * with the Context selection of channel/internal/context.h), checked over
 * every interleaving by spin.
 *
 * State is guarded by one mutex (modelled as a lock, so steps outside it
 * interleave freely). A blocked operation registers its context with a
 * token and a packet and sleeps; a partner selects the context with a CAS
 * from WAITING and hands the value over through the packet; a timeout
 * selects ABORTED with the same CAS and Close() selects DISCONNECTED, so
 * exactly one of them wins. Timeouts may strike at any moment here.
 *
 * One sender sends N values (blocking or TrySend, chosen at each send); a
 * receiver receives (blocking or TryRecv) until kClosed; a closer closes at
 * an arbitrary moment. At the end every value whose send returned OK was
 * received exactly once; every other value was handed back to the sender.
 *
 * -DMUTANT: a timed-out sender returns without looking whether a receiver
 * won the race for its context (the bug the CAS exists to prevent); spin
 * must find the duplicated value then.
 */
#define N 2
#define WAITING 0
#define ABORTED 1
#define DISCONNECTED 2
#define S_TOKEN 3
#define R_TOKEN 4
#define SENT 1
#define BACK 2

bool mu = false;
bool closed = false;
/* the waiter lists: at most one entry each (one sender, one receiver) */
bool s_registered = false;
bool r_registered = false;
/* contexts: s = the sender's, r = the receiver's */
byte s_selected = WAITING;
byte r_selected = WAITING;
/* packets: the sender's holds the value it offers; the receiver's gets one */
byte s_packet = 0;
bool s_ready = false;
byte r_packet = 0;
bool r_ready = false;
byte fate[N + 1];
byte got[N + 1];
byte done = 0;

inline lock() { atomic { !mu -> mu = true } }
inline unlock() { mu = false }

proctype Sender() {
  byte v = 1;
  bool won;
  bool blocking;
  do
  :: v > N -> break
  :: v <= N ->
     if :: blocking = true :: blocking = false fi;
     lock();
     if
     :: closed -> unlock(); fate[v] = BACK; break
     :: else -> skip
     fi;
     /* TrySelectOther() on the receivers */
     won = false;
     if
     :: r_registered ->
          atomic { if :: r_selected == WAITING -> r_selected = R_TOKEN; won = true :: else -> skip fi };
          if :: won -> r_registered = false :: else -> skip fi
     :: else -> skip
     fi;
     if
     :: won ->                      /* Hand(): write the packet, then ready */
          unlock();
          r_packet = v;
          r_ready = true;
          fate[v] = SENT
     :: !won && !blocking ->        /* TrySend: kFull, value back */
          unlock();
          fate[v] = BACK
     :: !won && blocking ->         /* register our packet and wait */
          s_selected = WAITING;
          s_ready = false;
          s_packet = v;
          s_registered = true;
          unlock();
          /* WaitUntil(): selected by someone, or time out at any moment */
          if
          :: s_selected != WAITING -> skip
          :: atomic { s_selected == WAITING -> s_selected = ABORTED }
          fi;
#ifdef MUTANT
          if :: true -> lock(); s_registered = false; unlock(); s_packet = 0; fate[v] = BACK; goto next
             :: true -> skip fi;
#endif
          if
          :: s_selected == ABORTED || s_selected == DISCONNECTED ->
               lock(); s_registered = false; unlock();
               s_packet = 0;        /* the value comes back: timed out or closed */
               fate[v] = BACK
          :: else ->
               s_ready;             /* WaitReady(): the receiver took it */
               fate[v] = SENT
          fi
     fi;
next:
     v++
  od;
  done++
}

proctype Receiver() {
  bool won;
  bool blocking;
  byte v;
  do
  :: true ->
     if :: blocking = true :: blocking = false fi;
     lock();
     won = false;
     if
     :: s_registered ->
          atomic { if :: s_selected == WAITING -> s_selected = S_TOKEN; won = true :: else -> skip fi };
          if :: won -> s_registered = false :: else -> skip fi
     :: else -> skip
     fi;
     if
     :: won ->                      /* Hand(): take the value out of the sender's packet */
          unlock();
          v = s_packet;
          assert(v != 0);
          got[v]++;
          s_packet = 0;
          s_ready = true
     :: !won && closed -> unlock(); break        /* kClosed */
     :: !won && !closed && !blocking -> unlock() /* TryRecv: kEmpty */
     :: !won && !closed && blocking ->
          r_selected = WAITING;
          r_ready = false;
          r_packet = 0;
          r_registered = true;
          unlock();
          if
          :: r_selected != WAITING -> skip
          :: atomic { r_selected == WAITING -> r_selected = ABORTED }
          fi;
          if
          :: r_selected == ABORTED ->
               lock(); r_registered = false; unlock()  /* kTimedOut: try again */
          :: r_selected == DISCONNECTED ->
               lock(); r_registered = false; unlock();
               break                                   /* kClosed */
          :: else ->
               r_ready;                                /* WaitReady() */
               v = r_packet;
               assert(v != 0);
               got[v]++;
               r_packet = 0
          fi
     fi
  od;
  done++
}

proctype Closer() {
  lock();
  closed = true;
  /* Disconnect() both lists: select every waiting entry */
  if :: s_registered -> atomic { if :: s_selected == WAITING -> s_selected = DISCONNECTED :: else -> skip fi } :: else -> skip fi;
  if :: r_registered -> atomic { if :: r_selected == WAITING -> r_selected = DISCONNECTED :: else -> skip fi } :: else -> skip fi;
  unlock();
  done++
}

init {
  byte i;
  atomic {
    run Sender();
    run Receiver();
    run Closer()
  }
  (done == 3);
  i = 1;
  do
  :: i <= N ->
     assert(got[i] == (fate[i] == SENT -> 1 : 0));
     i++
  :: else -> break
  od
}
