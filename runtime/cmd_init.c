/* runtime/cmd_init.c -- `moec init`: TEMPORARY placeholder until the weights module lands. */
#include "runtime/commands.h"

int rt_cmd_init(int argc, char **argv)
{
    (void)argc; (void)argv;
    return rt_cmd_not_yet("init", "the weights module is not built yet");
}
