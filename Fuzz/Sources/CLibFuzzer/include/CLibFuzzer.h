#ifndef HITECH_CLIBFUZZER_H
#define HITECH_CLIBFUZZER_H
#include <stddef.h>
#include <stdint.h>

// libFuzzer's driver (compiler-rt, linked by `-sanitize=fuzzer`). Declared only: it exists in
// fuzz builds, and nothing refers to it in ordinary builds.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
