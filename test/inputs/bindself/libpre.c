int shared_fn(void) { return 2; }
