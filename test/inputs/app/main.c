/* An application: bin/app, lib/libcore.so beside it (RUNPATH $ORIGIN/../lib),
   and lib/plugin.so opened from the directory of the running program. */
#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int core_sum(int n);

int main(void) {
  char self[PATH_MAX] = {0};
  if (readlink("/proc/self/exe", self, sizeof self - 1) < 0)
    return 2;
  char path[PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/../lib/plugin.so", dirname(self));
  void *plugin = dlopen(path, RTLD_NOW);
  if (!plugin) {
    printf("dlopen: %s\n", dlerror());
    return 1;
  }
  void (*run)(void) = (void (*)(void))dlsym(plugin, "plugin_run");
  run();
  printf("core says %d\n", core_sum(10));
  return 0;
}
