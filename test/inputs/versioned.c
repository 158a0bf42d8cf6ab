/* A library with symbol versions: old_api@V1 and old_api@@V2 (default),
   plus unversioned-by-default exports under V2. */
__asm__(".symver old_api_v1, old_api@V1");
__asm__(".symver old_api_v2, old_api@@V2");
int old_api_v1(int x) { return x + 1; }
int old_api_v2(int x) { return x + 2; }
int new_api(int x) { return x * 3; }
const char *lib_version(void) { return "versioned"; }
