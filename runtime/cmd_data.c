/* runtime/cmd_data.c -- `moec data` and `moec tokenize` (the data issue fills these in). */
#include "runtime/commands.h"

int rt_cmd_data(int argc, char **argv)
{
    (void)argc; (void)argv;
    return rt_cmd_not_yet("data", "the tokenizer and shard writer are not built yet");
}

int rt_cmd_tokenize(int argc, char **argv)
{
    (void)argc; (void)argv;
    return rt_cmd_not_yet("tokenize", "the tokenizer is not built yet");
}
