/* fuzz_msg.h: the decoder fuzz target shared by libFuzzer and the replay
 * driver. */
#ifndef HINT_TEST_FUZZ_MSG_H
#define HINT_TEST_FUZZ_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "common/wire/msg.h"

/* The shapes every fuzz input is decoded against. */
msg_shapes_t fuzz_msg_shapes(void);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
