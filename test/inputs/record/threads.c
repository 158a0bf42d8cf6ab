/* Four threads, each first-touching its own worker function. */
#include <pthread.h>
#include <stdio.h>
#define WORKER(n) \
  __attribute__((noinline)) void *worker##n(void *arg) { *(long *)arg = n * 10; return 0; }
WORKER(1)
WORKER(2)
WORKER(3)
WORKER(4)
int main(void) {
  void *(*fns[])(void *) = {worker1, worker2, worker3, worker4};
  pthread_t t[4];
  long out[4];
  for (int i = 0; i < 4; ++i)
    pthread_create(&t[i], 0, fns[i], &out[i]);
  for (int i = 0; i < 4; ++i)
    pthread_join(t[i], 0);
  printf("%ld %ld %ld %ld\n", out[0], out[1], out[2], out[3]);
  return 0;
}
