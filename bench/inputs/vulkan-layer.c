// vulkan-layer LAYER.so: loads a Vulkan layer without a loader or a driver
// (its constructors run), lists its layer and extension properties, and
// looks a few entry points up (whether each is found, not where).
// largest-programs.sh compares the output of the original and the
// rewritten layer.
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
  char name[256];
  uint32_t spec, implementation;
  char description[256];
} Layer;
typedef struct {
  char name[256];
  uint32_t spec;
} Extension;
typedef int (*EnumerateLayers)(uint32_t *, Layer *);
typedef int (*EnumerateExtensions)(const char *, uint32_t *, Extension *);
typedef void *(*GetProcAddr)(void *, const char *);

int main(int argc, char **argv) {
  if (argc < 2)
    return 2;
  void *h = dlopen(argv[1], RTLD_NOW);
  if (!h) {
    printf("dlopen: %s\n", dlerror());
    return 1;
  }
  EnumerateLayers layers = (EnumerateLayers)dlsym(h, "vkEnumerateInstanceLayerProperties");
  EnumerateExtensions extensions = (EnumerateExtensions)dlsym(h, "vkEnumerateInstanceExtensionProperties");
  GetProcAddr lookUp = (GetProcAddr)dlsym(h, "vkGetInstanceProcAddr");
  if (!layers || !extensions || !lookUp)
    return 3;
  static Layer l[8];
  uint32_t n = 8;
  printf("layers: %d, %u\n", layers(&n, l), n);
  for (uint32_t i = 0; i < n && i < 8; ++i)
    printf("  %s %u %u %s\n", l[i].name, l[i].spec, l[i].implementation, l[i].description);
  for (uint32_t i = 0; i < n && i < 8; ++i) {
    static Extension e[64];
    uint32_t m = 64;
    printf("%s extensions: %d, %u\n", l[i].name, extensions(l[i].name, &m, e), m);
    for (uint32_t k = 0; k < m && k < 64; ++k)
      printf("  %s %u\n", e[k].name, e[k].spec);
  }
  // Each lookup in a child of its own: a null instance is valid only for
  // the global commands, and Debian's own layer (1.3.239) dereferences it
  // for some of those too; a crash is then behaviour to compare.
  const char *names[] = {"vkCreateInstance", "vkCreateDevice", "vkQueueSubmit", "vkCmdDraw",
                         "vkDestroyInstance", "vkNotAnEntryPoint"};
  fflush(stdout);
  for (unsigned i = 0; i < sizeof names / sizeof *names; ++i) {
    pid_t child = fork();
    if (child == 0)
      _exit(lookUp(0, names[i]) ? 0 : 1);
    int status = 0;
    waitpid(child, &status, 0);
    printf("  %s %s\n", names[i],
           WIFSIGNALED(status) ? "crashes" : WEXITSTATUS(status) == 0 ? "found" : "null");
  }
  return 0;
}
