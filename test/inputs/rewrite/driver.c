/* The program half of the shared-library combinations: all the work is in
   the library, which is what gets rewritten. */
int subject_main(int argc, char **argv);
int main(int argc, char **argv) { return subject_main(argc, argv); }
