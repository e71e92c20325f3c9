/*
 * udp_tls_loadgen: the load generator of bench/run_udp_tls.sh (loopback only).
 *
 *   udp_tls_loadgen udp --port P [--flows 4] [--window 32] [--size 64]
 *                       [--warmup 1] [--duration 3]
 *   udp_tls_loadgen tls --port P [--conns 1] [--warmup 1] [--duration 3]
 *
 * udp: FLOWS connected UDP sockets each keep WINDOW datagrams of SIZE bytes
 *      in flight to an echo server; each echo sends the next. A flow that
 *      hears nothing for 100 ms counts its window as lost and refills it.
 *      Result: echoed datagrams/s.
 * tls: CONNS TLS connections (OpenSSL, no certificate check: the server is
 *      ours, on loopback) write 64 KiB chunks with at most 4 MiB un-echoed
 *      each, reading echoes as they come. Result: echoed MB/s (10^6 bytes).
 *
 * Every echoed byte is checked against what was sent (a periodic pattern,
 * per-datagram sequence numbers for UDP). Phases: connect, warmup (not
 * counted), duration (counted), then stop. Prints one JSON line on stdout;
 * exit status 1 on a mismatch or setup error. Bounded: at most 64 flows or
 * connections, 60 s in all.
 *
 * Build: cc -O2 -Wall -o udp_tls_loadgen udp_tls_loadgen.c -lssl -lcrypto
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PEERS 64
#define CHUNK (64 * 1024)
#define WINDOW_BYTES (4u << 20)
#define PERIOD 251

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what) {
  fprintf(stderr, "udp_tls_loadgen: %s: %s\n", what, strerror(errno));
  exit(1);
}

static struct sockaddr_in server_addr(int port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

/* ------------------------------------------------------------------ udp */

struct flow {
  int fd;
  uint32_t next_seq; /* sequence number of the next datagram to send */
  double last_heard;
};

static int run_udp(int port, int flows, int window, int size, double warmup,
                   double duration) {
  if (size < 8 || size > 1400) {
    fprintf(stderr, "udp_tls_loadgen: --size must be 8..1400\n");
    return 1;
  }
  struct flow f[MAX_PEERS];
  struct pollfd pfd[MAX_PEERS];
  struct sockaddr_in to = server_addr(port);
  unsigned char buf[2048], out[2048];
  uint64_t counted = 0, lost = 0, mismatches = 0;
  for (int i = 0; i < flows; i++) {
    f[i].fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (f[i].fd < 0) die("socket");
    if (connect(f[i].fd, (struct sockaddr *)&to, sizeof to) < 0) die("connect");
    f[i].next_seq = 0;
    pfd[i].fd = f[i].fd;
    pfd[i].events = POLLIN;
  }
  double start = now(), t0 = start + warmup, t1 = t0 + duration;
  for (int i = 0; i < flows; i++) f[i].last_heard = start;
  /* payload: 4-byte flow id, 4-byte sequence, then pattern bytes */
  for (int i = 0; i < size; i++) out[i] = (unsigned char)(i % PERIOD);
#define SEND(i)                                                      \
  do {                                                               \
    uint32_t id = (uint32_t)(i), seq = f[i].next_seq++;              \
    memcpy(out, &id, 4);                                             \
    memcpy(out + 4, &seq, 4);                                        \
    if (send(f[i].fd, out, size, 0) < 0 && errno != EAGAIN) die("send"); \
  } while (0)
  for (int i = 0; i < flows; i++)
    for (int w = 0; w < window; w++) SEND(i);
  for (;;) {
    double t = now();
    if (t >= t1) break;
    int n = poll(pfd, flows, 20);
    if (n < 0 && errno != EINTR) die("poll");
    t = now();
    for (int i = 0; i < flows; i++) {
      if (pfd[i].revents & POLLIN) {
        for (;;) {
          ssize_t got = recv(f[i].fd, buf, sizeof buf, 0);
          if (got < 0) {
            if (errno == EAGAIN) break;
            if (errno == ECONNREFUSED) { fprintf(stderr, "udp_tls_loadgen: refused\n"); return 1; }
            die("recv");
          }
          uint32_t id;
          memcpy(&id, buf, 4);
          if (got != size || id != (uint32_t)i || memcmp(buf + 8, out + 8, size - 8) != 0) {
            mismatches++;
            continue;
          }
          f[i].last_heard = t;
          if (t >= t0 && t < t1) counted++;
          SEND(i);
        }
      }
      if (t - f[i].last_heard > 0.1) { /* window presumed lost: refill */
        lost += window;
        f[i].last_heard = t;
        for (int w = 0; w < window; w++) SEND(i);
      }
    }
  }
  for (int i = 0; i < flows; i++) close(f[i].fd);
  printf("{\"mode\":\"udp\",\"flows\":%d,\"window\":%d,\"size\":%d,\"warmup\":%g,"
         "\"duration\":%g,\"datagrams_per_s\":%.1f,\"lost\":%llu,\"mismatches\":%llu}\n",
         flows, window, size, warmup, duration, counted / duration,
         (unsigned long long)lost, (unsigned long long)mismatches);
  return mismatches ? 1 : 0;
}

/* ------------------------------------------------------------------ tls */

struct tconn {
  int fd;
  SSL *ssl;
  uint64_t sent, echoed;
  int want_write; /* last SSL_write wanted POLLOUT */
  size_t pending;  /* length of a write to retry with the same arguments */
};

static unsigned char pattern[CHUNK + PERIOD];

static int run_tls(int port, int conns, double warmup, double duration) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) { ERR_print_errors_fp(stderr); return 1; }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  for (size_t i = 0; i < sizeof pattern; i++) pattern[i] = (unsigned char)(i % PERIOD);
  struct tconn c[MAX_PEERS];
  struct pollfd pfd[MAX_PEERS];
  struct sockaddr_in to = server_addr(port);
  static unsigned char buf[CHUNK];
  uint64_t mismatches = 0;
  for (int i = 0; i < conns; i++) {
    c[i].fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c[i].fd < 0) die("socket");
    if (connect(c[i].fd, (struct sockaddr *)&to, sizeof to) < 0) die("connect");
    int one = 1;
    setsockopt(c[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c[i].ssl = SSL_new(ctx);
    SSL_set_fd(c[i].ssl, c[i].fd);
    SSL_set_tlsext_host_name(c[i].ssl, "localhost");
    if (SSL_connect(c[i].ssl) != 1) { ERR_print_errors_fp(stderr); return 1; }
    fcntl(c[i].fd, F_SETFL, fcntl(c[i].fd, F_GETFL) | O_NONBLOCK);
    c[i].sent = c[i].echoed = 0;
    c[i].want_write = 0;
    c[i].pending = 0;
    pfd[i].fd = c[i].fd;
  }
  double start = now(), t0 = start + warmup, t1 = t0 + duration;
  uint64_t at_t0 = 0, total = 0;
  int marked = 0;
  for (;;) {
    double t = now();
    if (!marked && t >= t0) { at_t0 = total; marked = 1; }
    if (t >= t1) break;
    for (int i = 0; i < conns; i++) {
      /* write while the window allows */
      while (c[i].sent - c[i].echoed < WINDOW_BYTES) {
        size_t len = c[i].pending ? c[i].pending : CHUNK;
        int w = SSL_write(c[i].ssl, pattern + (c[i].sent % PERIOD), (int)len);
        if (w > 0) { c[i].sent += w; c[i].pending = 0; c[i].want_write = 0; continue; }
        int e = SSL_get_error(c[i].ssl, w);
        c[i].pending = len;
        if (e == SSL_ERROR_WANT_WRITE) { c[i].want_write = 1; break; }
        if (e == SSL_ERROR_WANT_READ) break;
        fprintf(stderr, "udp_tls_loadgen: SSL_write failed (%d)\n", e);
        ERR_print_errors_fp(stderr);
        return 1;
      }
      /* read what is there */
      for (;;) {
        int r = SSL_read(c[i].ssl, buf, sizeof buf);
        if (r > 0) {
          if (memcmp(buf, pattern + (c[i].echoed % PERIOD), r) != 0) mismatches++;
          c[i].echoed += r;
          total += r;
          continue;
        }
        int e = SSL_get_error(c[i].ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) break;
        fprintf(stderr, "udp_tls_loadgen: SSL_read failed (%d): the server closed?\n", e);
        ERR_print_errors_fp(stderr);
        return 1;
      }
      pfd[i].events = POLLIN | (c[i].want_write ? POLLOUT : 0);
    }
    if (poll(pfd, conns, 20) < 0 && errno != EINTR) die("poll");
  }
  uint64_t counted = total - at_t0;
  for (int i = 0; i < conns; i++) {
    SSL_free(c[i].ssl);
    close(c[i].fd);
  }
  SSL_CTX_free(ctx);
  printf("{\"mode\":\"tls\",\"conns\":%d,\"chunk\":%d,\"warmup\":%g,\"duration\":%g,"
         "\"mb_per_s\":%.2f,\"mismatches\":%llu}\n",
         conns, CHUNK, warmup, duration, counted / duration / 1e6,
         (unsigned long long)mismatches);
  return mismatches ? 1 : 0;
}

int main(int argc, char **argv) {
  if (argc < 2) goto usage;
  int port = 0, flows = 4, window = 32, size = 64, conns = 1;
  double warmup = 1, duration = 3;
  for (int i = 2; i + 1 < argc; i += 2) {
    const char *k = argv[i], *v = argv[i + 1];
    if (!strcmp(k, "--port")) port = atoi(v);
    else if (!strcmp(k, "--flows")) flows = atoi(v);
    else if (!strcmp(k, "--window")) window = atoi(v);
    else if (!strcmp(k, "--size")) size = atoi(v);
    else if (!strcmp(k, "--conns")) conns = atoi(v);
    else if (!strcmp(k, "--warmup")) warmup = atof(v);
    else if (!strcmp(k, "--duration")) duration = atof(v);
    else goto usage;
  }
  if (port <= 0 || port > 65535 || flows < 1 || flows > MAX_PEERS || conns < 1 ||
      conns > MAX_PEERS || window < 1 || window > 1024 || warmup < 0 ||
      duration <= 0 || warmup + duration > 60)
    goto usage;
  if (!strcmp(argv[1], "udp")) return run_udp(port, flows, window, size, warmup, duration);
  if (!strcmp(argv[1], "tls")) return run_tls(port, conns, warmup, duration);
usage:
  fprintf(stderr,
          "usage: udp_tls_loadgen udp --port P [--flows 4] [--window 32] [--size 64]\n"
          "                           [--warmup 1] [--duration 3]\n"
          "       udp_tls_loadgen tls --port P [--conns 1] [--warmup 1] [--duration 3]\n");
  return 2;
}
