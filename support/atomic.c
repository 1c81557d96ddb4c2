/* support/atomic.c -- all-or-nothing file writes (atomic.h).
 * Writes DEST.tmp-XXXXXX beside DEST, then fsync + rename(2); a crash or an
 * error leaves the old DEST (or none) and at most a stray temporary file. */
#include "support/atomic.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int moec_atomic_open(moec_atomic_file *af, const char *dest, moec_diag *d)
{
    memset(af, 0, sizeof *af);
    size_t n = strlen(dest);
    af->dest = strdup(dest);
    af->tmp = malloc(n + sizeof ".tmp-XXXXXX");
    if (!af->dest || !af->tmp) {
        moec_atomic_abort(af);
        return moec_error(d, "%s: out of memory", dest);
    }
    memcpy(af->tmp, dest, n);
    memcpy(af->tmp + n, ".tmp-XXXXXX", sizeof ".tmp-XXXXXX");
    int fd = mkstemp(af->tmp);
    if (fd < 0) {
        int e = errno;
        free(af->tmp);
        af->tmp = NULL;
        moec_atomic_abort(af);
        return moec_error(d, "%s: cannot create a temporary file: %s", dest, strerror(e));
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
        moec_atomic_abort(af);
        return moec_error(d, "%s: %s", dest, strerror(e));
    }
    return 0;
}

static void atomic_free(moec_atomic_file *af)
{
    free(af->tmp);
    free(af->dest);
    memset(af, 0, sizeof *af);
}

int moec_atomic_commit(moec_atomic_file *af, moec_diag *d)
{
    int bad = ferror(af->f) || fflush(af->f) != 0 || fsync(fileno(af->f)) != 0;
    int e = errno;
    if (fclose(af->f) != 0 && !bad) { bad = 1; e = errno; }
    af->f = NULL;
    if (!bad && rename(af->tmp, af->dest) != 0) { bad = 1; e = errno; }
    if (bad) {
        moec_error(d, "%s: write failed: %s", af->dest, strerror(e));
        unlink(af->tmp);
        atomic_free(af);
        return -1;
    }
    atomic_free(af);
    return 0;
}

void moec_atomic_abort(moec_atomic_file *af)
{
    if (af->f) {
        fclose(af->f);
        unlink(af->tmp);
    }
    atomic_free(af);
}

int moec_atomic_write(const char *dest, const void *data, size_t len, moec_diag *d)
{
    moec_atomic_file af;
    if (moec_atomic_open(&af, dest, d) != 0) return -1;
    if (len && fwrite(data, 1, len, af.f) != len) {
        int e = errno;
        moec_atomic_abort(&af);
        return moec_error(d, "%s: write failed: %s", dest, strerror(e));
    }
    return moec_atomic_commit(&af, d);
}
