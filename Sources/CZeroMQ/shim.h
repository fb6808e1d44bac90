#ifndef CZEROMQ_SHIM_H
#define CZEROMQ_SHIM_H

// libzmq 4.3 from the system (Debian: libzmq3-dev). The draft API is never enabled:
// Debian's build has none of it.
#include <zmq.h>
#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>

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

/// libzmq 4.3 writes to TCP connections with a plain send(2), without MSG_NOSIGNAL: a write to a
/// connection its peer has just reset raises SIGPIPE, whose default action ends the process.
/// Sets SIGPIPE to SIG_IGN, unless the process chose a disposition of its own. Returns whether
/// SIGPIPE is now ignored or handled (not the default).
static inline int czmq_ignore_sigpipe(void) {
  struct sigaction current;
  if (sigaction(SIGPIPE, NULL, &current) != 0) return 0;
  if (current.sa_handler != SIG_DFL || (current.sa_flags & SA_SIGINFO)) return 1;
  struct sigaction ignore;
  memset(&ignore, 0, sizeof ignore);
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  return sigaction(SIGPIPE, &ignore, NULL) == 0;
}

/// Whether `fd` is a connected stream socket whose local address is TCP port `port` (when
/// `port` > 0) or the unix socket path `path` (when not NULL): a connection accepted by a
/// listener on that endpoint, and not some other descriptor that reuses the number.
static inline int czmq_is_accepted_connection(int fd, int port, const char *path) {
  struct sockaddr_storage local;
  socklen_t length = sizeof local;
  memset(&local, 0, sizeof local);
  if (getsockname(fd, (struct sockaddr *)&local, &length) != 0) return 0;
  struct sockaddr_storage peer;
  socklen_t peerLength = sizeof peer;
  if (getpeername(fd, (struct sockaddr *)&peer, &peerLength) != 0) return 0;
  if (local.ss_family == AF_INET && port > 0)
    return ntohs(((struct sockaddr_in *)&local)->sin_port) == port;
  if (local.ss_family == AF_INET6 && port > 0)
    return ntohs(((struct sockaddr_in6 *)&local)->sin6_port) == port;
  if (local.ss_family == AF_UNIX && path != NULL)
    return strncmp(((struct sockaddr_un *)&local)->sun_path, path, sizeof(((struct sockaddr_un *)0)->sun_path)) == 0;
  return 0;
}

/// Shuts down both directions of an accepted connection (see czmq_is_accepted_connection):
/// libzmq, which owns the descriptor, sees the connection end and closes it itself. Returns
/// 0 when shut down, -1 when `fd` is not such a connection.
static inline int czmq_shut_down_accepted_connection(int fd, int port, const char *path) {
  if (!czmq_is_accepted_connection(fd, port, path)) return -1;
  return shutdown(fd, SHUT_RDWR);
}

#endif
