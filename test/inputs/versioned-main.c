#include <stdio.h>
int old_api(int);
int new_api(int);
const char *lib_version(void);
int main(void) { printf("%s %d %d\n", lib_version(), old_api(10), new_api(5)); return 0; }
