/* Loads ./libplugin.so (next to the program) with dlopen and calls it. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
  char path[4096];
  snprintf(path, sizeof path, "%s", argv[0]);
  char *slash = strrchr(path, '/');
  snprintf(slash ? slash + 1 : path, sizeof path - (slash ? slash + 1 - path : 0), "libplugin.so");
  void *h = dlopen(path, RTLD_NOW);
  if (!h) {
    printf("dlopen failed: %s\n", dlerror());
    return 1;
  }
  int (*first)(int) = (int (*)(int))dlsym(h, "plugin_first");
  printf("plugin says %d\n", first(20));
  dlclose(h);
  return 0;
}
