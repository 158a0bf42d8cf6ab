/* A plugin the program opens with dlopen: record --all-objects must find it. */
#include <stdio.h>
static const char *const greetings[] = {"hello", "from", "the", "plugin"};
void plugin_run(void) {
  for (unsigned i = 0; i < sizeof greetings / sizeof *greetings; ++i)
    printf("%s%s", greetings[i], i + 1 < sizeof greetings / sizeof *greetings ? " " : "\n");
}
