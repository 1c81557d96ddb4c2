/* runtime/cmd_eval.c -- `moec eval` and `moec grad`: TEMPORARY placeholders until the lowering lands. */
#include "runtime/commands.h"

int rt_cmd_eval(int argc, char **argv)
{
    (void)argc; (void)argv;
    return rt_cmd_not_yet("eval", "the graph lowering and interpreter are not built yet");
}

int rt_cmd_grad(int argc, char **argv)
{
    (void)argc; (void)argv;
    return rt_cmd_not_yet("grad", "the graph lowering and interpreter are not built yet");
}
