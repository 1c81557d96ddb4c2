/* frontend/lists.h -- the pattern of the front end's name tables.
 * A table of names is written once, as an X-macro list: LIST(X) calls
 * X(ENUM_NAME, "name", ...) once per entry, in enum order. From one list come
 * its enum (FE_LIST_ENUM), its count, kept outside the enum so that a switch
 * without `default` still warns about a missing case (FE_LIST_COUNT), its names
 * (FE_LIST_NAME) and any per-entry data the list carries; every table derived
 * from a list static-asserts that it has the list's count of entries. The
 * lists are in ast.h, model.h and elab_internal.h (doc/architecture.md). */
#ifndef MOEC_LISTS_H
#define MOEC_LISTS_H

#define FE_LIST_ENUM(id, ...) id,
#define FE_LIST_COUNT(...) + 1
#define FE_LIST_NAME(id, ...) FE_LIST_FIRST_(__VA_ARGS__, ~),
#define FE_LIST_FIRST_(x, ...) x

/* The index of `name` in names[0 .. n), or -1 (model_names.c). */
int fe_name_find(const char *const *names, int n, const char *name);

#endif
