int a_weak2(void) { return 20; }
int a_later = 5;
