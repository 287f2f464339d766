// The declaration is all: the fuzzer runtime (-sanitize=fuzzer) defines LLVMFuzzerRunDriver.
#include "CFuzzerDriver.h"
