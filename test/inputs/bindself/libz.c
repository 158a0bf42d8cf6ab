int a_weak2(void) { return 20; }
