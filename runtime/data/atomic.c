/* runtime/data/atomic.c -- all-or-nothing file writes (atomic.h).
 * Writes DEST.tmp-XXXXXX beside DEST, then fsync + rename(2); a crash or an
 * error leaves the old DEST (or none) and at most a stray temporary file. */
#include "runtime/data/atomic.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int rt_atomic_open(rt_atomic_file *af, const char *dest, rt_data_err *err)
{
    memset(af, 0, sizeof *af);
    size_t n = strlen(dest);
    af->dest = strdup(dest);
    af->tmp = malloc(n + sizeof ".tmp-XXXXXX");
    if (!af->dest || !af->tmp) {
        rt_atomic_abort(af);
        return rt_data_errf(err, "%s: out of memory", dest);
    }
    memcpy(af->tmp, dest, n);
    memcpy(af->tmp + n, ".tmp-XXXXXX", sizeof ".tmp-XXXXXX");
    int fd = mkstemp(af->tmp);
    if (fd < 0) {
        int e = errno;
        free(af->tmp);
        af->tmp = NULL;
        rt_atomic_abort(af);
        return rt_data_errf(err, "%s: cannot create a temporary file: %s", dest, strerror(e));
    }
    /* mkstemp makes 0600 files; data files are meant to be shared like any other. */
    mode_t mask = umask(0);
    umask(mask);
    (void)fchmod(fd, 0666 & ~mask);
    af->f = fdopen(fd, "wb");
    if (!af->f) {
        int e = errno;
        close(fd);
        unlink(af->tmp);
        rt_atomic_abort(af);
        return rt_data_errf(err, "%s: %s", dest, strerror(e));
    }
    return 0;
}

static void atomic_free(rt_atomic_file *af)
{
    free(af->tmp);
    free(af->dest);
    memset(af, 0, sizeof *af);
}

int rt_atomic_commit(rt_atomic_file *af, rt_data_err *err)
{
    int bad = ferror(af->f) || fflush(af->f) != 0 || fsync(fileno(af->f)) != 0;
    int e = errno;
    if (fclose(af->f) != 0 && !bad) { bad = 1; e = errno; }
    af->f = NULL;
    if (!bad && rename(af->tmp, af->dest) != 0) { bad = 1; e = errno; }
    if (bad) {
        rt_data_errf(err, "%s: write failed: %s", af->dest, strerror(e));
        unlink(af->tmp);
        atomic_free(af);
        return -1;
    }
    atomic_free(af);
    return 0;
}

void rt_atomic_abort(rt_atomic_file *af)
{
    if (af->f) {
        fclose(af->f);
        unlink(af->tmp);
    }
    atomic_free(af);
}

int rt_atomic_write(const char *dest, const void *data, size_t len, rt_data_err *err)
{
    rt_atomic_file af;
    if (rt_atomic_open(&af, dest, err) != 0) return -1;
    if (len && fwrite(data, 1, len, af.f) != len) {
        int e = errno;
        rt_atomic_abort(&af);
        return rt_data_errf(err, "%s: write failed: %s", dest, strerror(e));
    }
    return rt_atomic_commit(&af, err);
}
