/* A shared object opened with dlopen: its constructor runs at load. */
#include <stdio.h>
static int loaded;
__attribute__((constructor)) static void plugin_init(void) { loaded = 1; }
__attribute__((noinline)) int plugin_second(int v) { return v + loaded; }
__attribute__((noinline)) int plugin_first(int v) { return plugin_second(v * 2); }
int plugin_never(int v) { return v; }
