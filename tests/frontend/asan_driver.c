/* tests/frontend/asan_driver.c -- `moec check` and `moec ir` built with ASan and UBSan.
 * The front-end tests run bad and nasty model files through this driver so a
 * memory error, undefined behaviour or a leak fails the test. It links the
 * front end and runtime/cmd_frontend.c only; the other commands are stubs. */
#include <stdio.h>
#include <string.h>

#include "runtime/commands.h"

int rt_cmd_not_yet(const char *name, const char *why)
{
    fprintf(stderr, "moec: '%s' is not available yet: %s\n", name, why);
    return 2;
}

int rt_cmd_data(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return rt_cmd_not_yet("data", "not in the sanitized front-end driver");
}

int rt_cmd_tokenize(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return rt_cmd_not_yet("tokenize", "not in the sanitized front-end driver");
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "check")) return rt_cmd_check(argc - 2, argv + 2);
    if (argc >= 2 && !strcmp(argv[1], "ir")) return rt_cmd_ir(argc - 2, argv + 2);
    fprintf(stderr, "usage: moec_asan check|ir FILE [options]\n");
    return 2;
}
