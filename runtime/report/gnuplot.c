/* runtime/report/gnuplot.c -- runs gnuplot on the report's scripts
 * (gnuplot.h). A child process per script: fork, chdir into DIR/plots (the
 * scripts name their files relative to it), stdout and stderr into
 * NAME.log, exec. Exit status 127 from the child means gnuplot could not be
 * executed. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/report/gnuplot.h"
#include "support/atomic.h"

/* "DIR/NAME" into a new string. */
static char *path_in(const char *dir, const char *name, const char *ext)
{
    size_t n = strlen(dir) + strlen(name) + strlen(ext) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s%s", dir, name, ext);
    return p;
}

/* Runs `program args...` in dir with output to log (NULL: /dev/null);
 * returns the exit status, 127 when it could not be executed, -1 when no
 * process could be made or it died of a signal. */
static int run_in(const char *dir, const char *log, char *const argv[])
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int fd = open(log ? log : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        int in = open("/dev/null", O_RDONLY);
        if (in >= 0) {
            dup2(in, 0);
            close(in);
        }
        if (chdir(dir) != 0) _exit(126);
        execvp(argv[0], argv);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int rp_plotter_init(rp_plotter *p, const char *out_dir, bool enabled, moec_diag *d)
{
    memset(p, 0, sizeof *p);
    p->d = d;
    if (!(p->dir = path_in(out_dir, "plots", ""))) return moec_error(d, "out of memory");
    if (mkdir(p->dir, 0777) != 0 && errno != EEXIST)
        return moec_error(d, "cannot create '%s': %s", p->dir, strerror(errno));
    if (!enabled) return 0;
    const char *prog = getenv("MOEC_GNUPLOT");
    if (!prog || !*prog) prog = "gnuplot";
    char *cairo[] = {(char *)prog, "-e", "set terminal pngcairo", NULL};
    char *png[] = {(char *)prog, "-e", "set terminal png", NULL};
    int rc = run_in(p->dir, NULL, cairo);
    if (rc == 0) p->terminal = "pngcairo";
    else if (rc != 127 && run_in(p->dir, NULL, png) == 0) p->terminal = "png";
    if (!p->terminal) {
        moec_warning_at(d, (moec_loc){0},
                        "%s: %s; the report has no images (its gnuplot scripts are in %s; install gnuplot, "
                        "Debian package gnuplot-nox, and run moec report again)",
                        prog, rc == 127 ? "cannot run gnuplot" : "gnuplot has no PNG terminal", p->dir);
        return 0;
    }
    p->program = prog;
    return 0;
}

void rp_plotter_free(rp_plotter *p)
{
    free(p->dir);
    memset(p, 0, sizeof *p);
}

void rp_gp_quote(const char *s, char *buf, size_t size)
{
    size_t k = 0;
    for (; *s && k + 2 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\'') buf[k++] = '\'';
        buf[k++] = c < 0x20 ? ' ' : (char)c;
    }
    buf[k] = 0;
}

void rp_gp_safe_name(const char *s, char *buf, size_t size)
{
    size_t k = 0;
    for (; *s && k + 1 < size; s++) {
        char c = *s;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("._+-", c);
        buf[k++] = ok ? c : '_';
    }
    buf[k] = 0;
}

int rp_plot(rp_plotter *p, const char *name, const char *data, size_t data_len, const char *body, int width,
            int height)
{
    char *dat = path_in(p->dir, name, ".dat"), *gp = path_in(p->dir, name, ".gp");
    char *png = path_in(p->dir, name, ".png"), *tmp = path_in(p->dir, name, ".png.tmp");
    char *log = path_in(p->dir, name, ".log"), *script = NULL;
    size_t script_len = 0;
    int rc = -1;
    FILE *s = open_memstream(&script, &script_len);
    if (!dat || !gp || !png || !tmp || !log || !s) {
        if (s) fclose(s);
        moec_error(p->d, "out of memory");
        goto out;
    }
    fprintf(s, "# %s.gp -- drawn by moec report; redraw with: gnuplot %s.gp (in this directory)\n"
               "if (!exists(\"out\")) out = '%s.png'\n"
               "set terminal %s size %d,%d noenhanced\nset output out\nset datafile missing '?'\n%s",
            name, name, name, p->terminal ? p->terminal : "pngcairo", width, height, body);
    if (fclose(s) != 0 || !script) {
        moec_error(p->d, "out of memory");
        goto out;
    }
    if (moec_atomic_write(dat, data, data_len, p->d) != 0 || moec_atomic_write(gp, script, script_len, p->d) != 0)
        goto out;
    rc = 0;
    if (!p->program) goto out;
    char outarg[600];
    snprintf(outarg, sizeof outarg, "out='%s.png.tmp'", name);
    char gpname[600];
    snprintf(gpname, sizeof gpname, "%s.gp", name);
    char *argv[] = {(char *)p->program, "-e", outarg, gpname, NULL};
    int st = run_in(p->dir, log, argv);
    struct stat sb;
    if (st == 0 && stat(tmp, &sb) == 0 && sb.st_size > 0 && rename(tmp, png) == 0) {
        unlink(log);
        p->made++;
        rc = 1;
    } else {
        unlink(tmp);
        p->failed++;
        moec_warning_at(p->d, (moec_loc){0}, "gnuplot failed on %s (exit status %d; its output is in %s); the "
                        "report goes on without this image", gp, st, log);
    }
out:
    free(dat);
    free(gp);
    free(png);
    free(tmp);
    free(log);
    free(script);
    return rc;
}
