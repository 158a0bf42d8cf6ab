#pragma once
// The bulk of the program: many functions, few of them used at startup.
int featureCount();
unsigned long runFeature(int index, int seed);
