/* tests/pipeline/test_pipeline.c -- the pass pipeline (runtime/pipeline.h)
 * on tests/frontend/dumps/tiny_moe.moe: the table's shape, the graph of its
 * passes against ir_step_build node for node, dumps and stages, and a table
 * with an extra pass that breaks the graph, which the verifier must catch and
 * name. Reads $top_srcdir; writes nothing but temporary streams. */
#include <stdlib.h>
#include <string.h>

#include "runtime/pipeline.h"
#include "tests/tap.h"

enum { BATCH = 1, SEQ = 3 };

static char model_path[1024];

static rt_pipeline_options options(bool verify)
{
    return (rt_pipeline_options){.model = model_path, .batch = BATCH, .seq = SEQ, .verify = verify};
}

/* The request "run through `last`, print nothing". */
static rt_pipeline_request through(int last, FILE *out)
{
    return (rt_pipeline_request){last, -1, 0, out};
}

/* Reads a temporary stream back into buf (NUL-terminated, cut at size). */
static const char *slurp(FILE *f, char *buf, size_t size)
{
    rewind(f);
    size_t n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
    return buf;
}

static void check_table(const rt_pass *t, int n)
{
    bool names = true, stages = true, rows = true, planned_last = true;
    for (int i = 0; i < n; i++) {
        names &= t[i].name && t[i].level && t[i].what && rt_pass_find(t, n, t[i].name, false) == i;
        stages &= !t[i].stage || rt_pass_find(t, n, t[i].stage, true) == i;
        rows &= !t[i].run || t[i].print;
        planned_last &= t[i].run || i + 1 == n || !t[i + 1].run;
    }
    tap_ok(n > 0 && n <= RT_MAX_PASSES, "the table has %d passes", n);
    tap_ok(names, "every pass has a name, an IR and a line, and its name is its own");
    tap_ok(stages, "no two passes complete the same stage");
    tap_ok(rows, "every pass that runs can print its IR");
    tap_ok(planned_last, "planned passes come after every pass that runs");
    tap_ok(rt_pass_find(t, n, "grad", true) >= 0 && rt_pass_find(t, n, "grad", false) < 0,
           "stage and pass names are looked up apart");
}

/* The pipeline's graph through the `grad` stage is the graph ir_step_build
 * makes in one call: same nodes, same numbering. */
static void check_same_graph(const rt_pass *t, int n)
{
    rt_pipeline p;
    rt_pipeline_options opt = options(true);
    rt_pipeline_init(&p, &opt);
    rt_pipeline_request req = through(rt_pass_find(t, n, "grad", true), stdout);
    bool ran = rt_pipeline_run(&p, t, n, &req) == 0;
    tap_ok(ran && p.failed < 0 && p.n_run == req.last + 1, "the passes through grad run and verify");
    ir_graph g;
    ir_step_graph s;
    ir_lower_options lo = {BATCH, SEQ, true, IR_MOE_SPARSE, false};
    bool built = ran && ir_graph_init(&g) == 0;
    bool same = built && ir_step_build(&g, &p.fe.model, &lo, true, &s) == 0 && g.n_nodes == p.graph.n_nodes;
    for (int i = 0; same && i < g.n_nodes; i++) {
        const ir_node *a = ir_node_at(&g, i), *b = ir_node_at(&p.graph, i);
        same = a->op == b->op && a->n_in == b->n_in && !memcmp(a->in, b->in, sizeof a->in) &&
               a->shape.rank == b->shape.rank && !memcmp(a->shape.dim, b->shape.dim, sizeof a->shape.dim);
    }
    same = same && s.fwd.loss == p.step.fwd.loss && s.lr == p.step.lr && s.grad[0] == p.step.grad[0];
    tap_ok(same, "the passes build ir_step_build's graph node for node (%d nodes)", p.graph.n_nodes);
    if (built) ir_graph_free(&g);
    rt_pipeline_free(&p);
}

/* A dump is the IR after its pass under a header; a stage is printed bare;
 * a second run carries on from where the first stopped. */
static void check_dumps(const rt_pass *t, int n)
{
    FILE *out = tmpfile();
    static char buf[1 << 17];
    rt_pipeline p;
    rt_pipeline_options opt = options(false);
    rt_pipeline_init(&p, &opt);
    int lower = rt_pass_find(t, n, "lower", false), elab = rt_pass_find(t, n, "elab", true);
    rt_pipeline_request req = through(elab, out);
    bool ok = out && rt_pipeline_run(&p, t, n, &req) == 0 && p.n_run == elab + 1 && !p.have_graph;
    tap_ok(ok && ftell(out) == 0, "running through elab builds no graph and prints nothing");
    req = (rt_pipeline_request){lower + 1, lower, (uint64_t)1 << lower, out};
    ok = ok && rt_pipeline_run(&p, t, n, &req) == 0 && p.n_run == lower + 2;
    const char *text = ok ? slurp(out, buf, sizeof buf) : "";
    tap_ok(!strncmp(text, "# after lower\n%0 = ", 19), "--dump-after lower heads the graph: %.30s", text);
    const char *dump = strchr(text, '\n');
    dump = dump ? dump + 1 : text;
    size_t half = strlen(dump) / 2;
    tap_ok(ok && half > 0 && strlen(dump) < sizeof buf - 16 && !strncmp(dump, dump + half, half),
           "the stage follows, bare: the same graph again");
    if (out) fclose(out);
    rt_pipeline_free(&p);
}

/* A test-only pass: points an operand of the newest node at that node itself. */
static int run_break(rt_pipeline *p)
{
    ir_node *last = &p->graph.nodes[p->graph.n_nodes - 1];
    for (int id = p->graph.n_nodes - 1; last->n_in == 0 && id > 0; id--) last = &p->graph.nodes[id - 1];
    last->in[0] = (int)(last - p->graph.nodes);
    return 0;
}

/* The real table with `run_break` inserted after autodiff. */
static int broken_table(const rt_pass *t, int n, rt_pass *out)
{
    int at = rt_pass_find(t, n, "autodiff", false) + 1, k = 0;
    for (int i = 0; i < n; i++) {
        if (i == at) out[k++] = (rt_pass){"break", NULL, "graph", "corrupt an operand", run_break, t[at - 1].print,
                                          t[at - 1].verify};
        out[k++] = t[i];
    }
    return k;
}

/* Runs the broken table through grad; returns the report it prints. */
static const char *run_broken(const rt_pass *t, int n, bool verify, rt_pipeline *p, char *buf, size_t size)
{
    FILE *err = tmpfile();
    if (!err) return "";
    rt_pipeline_options opt = options(verify);
    opt.errors = err;   /* the verifier's report goes through the sink */
    rt_pipeline_init(p, &opt);
    rt_pipeline_request req = through(rt_pass_find(t, n, "grad", true), err);
    int rc = rt_pipeline_run(p, t, n, &req);
    rt_pipeline_report(err, p, t);
    const char *text = rc < 0 ? slurp(err, buf, size) : "";
    fclose(err);
    if (*text) buf[strcspn(buf, "\n")] = '\0';   /* one line, for the TAP case's name */
    return text;
}

static void check_broken_pass(const rt_pass *t, int n)
{
    rt_pass bt[RT_MAX_PASSES];
    int bn = broken_table(t, n, bt), at = rt_pass_find(bt, bn, "break", false);
    char buf[1024];
    rt_pipeline p;
    const char *msg = run_broken(bt, bn, true, &p, buf, sizeof buf);
    tap_ok(p.failed == at && p.failed_verify && p.n_run == at + 1,
           "--verify stops right after the broken pass (failed %d, pass %d)", p.failed, at);
    tap_ok(strstr(msg, "after pass 'break'") && strstr(msg, "not an earlier node") && strstr(msg, model_path),
           "the report names the pass, the file and the node: %s", msg);
    rt_pipeline_free(&p);
    msg = run_broken(bt, bn, false, &p, buf, sizeof buf);
    int last = rt_pass_find(bt, bn, "grad", true);
    tap_ok(p.failed == last && p.failed_verify && strstr(msg, "after pass 'optimizer'"),
           "without --verify only the last pass is checked, and blamed: %s", msg);
    rt_pipeline_free(&p);
}

/* A pass that fails is named by index; the front end reports its own errors. */
static void check_failures(const rt_pass *t, int n)
{
    rt_pipeline p;
    rt_pipeline_options opt = options(true);
    opt.model = "tests/pipeline/no such file.moe";
    rt_pipeline_init(&p, &opt);
    FILE *err = tmpfile();
    rt_pipeline_request req = through(rt_pass_find(t, n, "grad", true), err);
    bool failed = rt_pipeline_run(&p, t, n, &req) < 0;
    rt_pipeline_report(err, &p, t);
    tap_ok(failed && p.failed == 0 && !p.why && err && ftell(err) == 0,
           "a missing file fails in the first pass, reported by the front end alone");
    if (err) fclose(err);
    rt_pipeline_free(&p);
}

int main(void)
{
    const char *top = getenv("top_srcdir");
    snprintf(model_path, sizeof model_path, "%s/tests/frontend/dumps/tiny_moe.moe", top ? top : ".");
    int n;
    const rt_pass *t = rt_passes(&n);
    check_table(t, n);
    check_same_graph(t, n);
    check_dumps(t, n);
    check_broken_pass(t, n);
    check_failures(t, n);
    return tap_done();
}
