#ifndef CZEROMQ_SHIM_H
#define CZEROMQ_SHIM_H

// libzmq 4.3 from the system (Debian: libzmq3-dev). The draft API is never enabled:
// Debian's build has none of it.
#include <zmq.h>
#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <sys/prctl.h>

// Values Swift cannot import directly (macros with casts or computed values) and the
// variadic/inline parts of the API get plain wrappers here.

static inline int czmq_errno(void) { return zmq_errno(); }

static inline int czmq_eagain(void) { return EAGAIN; }
static inline int czmq_eintr(void) { return EINTR; }
static inline int czmq_ehostunreach(void) { return EHOSTUNREACH; }
static inline int czmq_eterm(void) { return ETERM; }

static inline int czmq_eventfd_create(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

static inline int czmq_eventfd_signal(int fd) {
  eventfd_t one = 1;
  return eventfd_write(fd, one);
}

static inline int czmq_eventfd_drain(int fd) {
  eventfd_t value = 0;
  return eventfd_read(fd, &value);
}

/// Names the calling thread (at most 15 bytes are kept), for `top -H` and debuggers.
static inline void czmq_set_current_thread_name(const char *name) {
  prctl(PR_SET_NAME, name, 0, 0, 0);
}

#endif
