#pragma once
// The bulk of the program: many functions, few of them used at startup.
int featureCount();
unsigned long runFeature(int index, int seed);
// Subsystem SUBSYSTEM's chain of startup stages (0, 1 or 2).
unsigned long runStartupStages(int subsystem, unsigned long v);
