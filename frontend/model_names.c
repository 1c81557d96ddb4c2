/* frontend/model_names.c -- the names of model.h's enums, from their lists.
 * Each table is expanded from the enum's X-macro list (FE_LIST_NAME) and
 * static-asserted to have one name per value, so a value added to a list has
 * its name at once. Read by the elaborator (names in the model file) and the
 * printer (`moec ir --stage elab`). No state. */
#include <string.h>

#include "frontend/model.h"

#define COUNT_OF(a) (sizeof (a) / sizeof (a)[0])

const char *const fe_node_op_names[] = { FE_NODE_OPS(FE_LIST_NAME) };
_Static_assert(COUNT_OF(fe_node_op_names) == FE_NODE_OP_COUNT, "a name for every node op");

const char *const fe_init_kind_names[] = { FE_INIT_KINDS(FE_LIST_NAME) };
_Static_assert(COUNT_OF(fe_init_kind_names) == FE_INIT_KIND_COUNT, "a name for every init kind");

const char *const fe_router_kind_names[] = { FE_ROUTER_KINDS(FE_LIST_NAME) };
_Static_assert(COUNT_OF(fe_router_kind_names) == FE_ROUTER_KIND_COUNT, "a name for every router kind");

const char *const fe_routing_unit_names[] = { FE_ROUTING_UNITS(FE_LIST_NAME) };
_Static_assert(COUNT_OF(fe_routing_unit_names) == FE_ROUTING_UNIT_COUNT, "a name for every routing unit");

const char *const fe_loss_kind_names[] = { FE_LOSS_KINDS(FE_LIST_NAME) };
_Static_assert(COUNT_OF(fe_loss_kind_names) == FE_LOSS_KIND_COUNT, "a name for every loss kind");

const char *const fe_schedule_names[] = { FE_SCHEDULES(FE_LIST_NAME) };
_Static_assert(COUNT_OF(fe_schedule_names) == FE_SCHEDULE_COUNT, "a name for every schedule");

const char *const fe_precision_names[] = { FE_PRECISIONS(FE_LIST_NAME) };
_Static_assert(COUNT_OF(fe_precision_names) == FE_PRECISION_COUNT, "a name for every precision");

int fe_name_find(const char *const *names, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], name)) return i;
    return -1;
}
