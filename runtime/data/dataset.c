/* runtime/data/dataset.c -- loads one split of a `moec data` directory
 * (dataset.h). Reads domains.json with jansson and each listed shard with
 * rt_shard_read; refuses any disagreement between them with a message naming
 * the file, so training never starts on data it would misattribute. */
#include "runtime/data/dataset.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/data/shard.h"

static int load_domains(const char *path, json_t *root, rt_split_data *s, moec_diag *diag)
{
    json_t *names = json_object_get(root, "domains");
    json_t *seq = json_object_get(root, "seq");
    if (!json_is_string(json_object_get(root, "format")) ||
        strcmp(json_string_value(json_object_get(root, "format")), "moec-domains") != 0 ||
        json_integer_value(json_object_get(root, "version")) != 1)
        return moec_error(diag, "%s: not a moec-domains version 1 file (build it with 'moec data')", path);
    if (!json_is_integer(seq) || json_integer_value(seq) < 2 || json_integer_value(seq) > (1 << 20))
        return moec_error(diag, "%s: seq must be an integer in 2..%d", path, 1 << 20);
    s->seq = (uint32_t)json_integer_value(seq);
    size_t n = json_array_size(names);
    if (n == 0 || n > RT_DATASET_MAX_DOMAINS)
        return moec_error(diag, "%s: expected 1..%d domain names", path, RT_DATASET_MAX_DOMAINS);
    if (!(s->domains = calloc(n, sizeof *s->domains))) return moec_error(diag, "out of memory");
    s->n_domains = n;
    for (size_t i = 0; i < n; i++) {
        const char *name = json_string_value(json_array_get(names, i));
        if (!name) return moec_error(diag, "%s: domains[%zu] is not a string", path, i);
        if (!(s->domains[i] = strdup(name))) return moec_error(diag, "out of memory");
    }
    return 0;
}

/* Appends one shard's tokens; a shard name must stay inside DIR. */
static int load_shard(const char *dir, json_t *entry, uint32_t vocab, rt_split_data *s, size_t cap,
                      moec_diag *diag)
{
    const char *name = json_string_value(json_object_get(entry, "path"));
    if (!name || !*name || strchr(name, '/') || strcmp(name, "..") == 0)
        return moec_error(diag, "%s/domains.json: a shard path must be a file name in the directory", dir);
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return moec_error(diag, "%s/%s: path too long", dir, name);
    rt_shard sh;
    if (rt_shard_read(path, vocab, &sh, diag) != 0) return -1;
    int rc = 0;
    if ((json_int_t)sh.n_tokens != json_integer_value(json_object_get(entry, "tokens")))
        rc = moec_error(diag, "%s: %zu tokens, domains.json says %lld", path, sh.n_tokens,
                        (long long)json_integer_value(json_object_get(entry, "tokens")));
    else if (s->n_tokens + sh.n_tokens > cap)
        rc = moec_error(diag, "%s: more tokens than domains.json's blocks hold", path);
    else if (sh.n_tokens)
        memcpy(s->tokens + s->n_tokens, sh.tokens, sh.n_tokens * sizeof *sh.tokens);
    s->n_tokens += rc == 0 ? sh.n_tokens : 0;
    rt_shard_free(&sh);
    return rc;
}

static int load_split(const char *dir, const char *path, json_t *sp, uint32_t vocab, rt_split_data *s,
                      moec_diag *diag)
{
    json_t *blocks = json_object_get(sp, "block_domains"), *shards = json_object_get(sp, "shards");
    if (!json_is_array(blocks) || !json_is_array(shards))
        return moec_error(diag, "%s: the split lacks block_domains or shards", path);
    s->n_blocks = json_array_size(blocks);
    size_t cap = s->n_blocks * s->seq;
    s->block_domain = malloc(s->n_blocks ? s->n_blocks : 1);
    s->tokens = malloc((cap ? cap : 1) * sizeof *s->tokens);
    if (!s->block_domain || !s->tokens) return moec_error(diag, "out of memory for %zu tokens", cap);
    for (size_t i = 0; i < s->n_blocks; i++) {
        json_t *d = json_array_get(blocks, i);
        if (!json_is_integer(d) || json_integer_value(d) < 0 || (size_t)json_integer_value(d) >= s->n_domains)
            return moec_error(diag, "%s: block %zu names domain %lld, not one of the %zu", path, i,
                              (long long)json_integer_value(d), s->n_domains);
        s->block_domain[i] = (uint8_t)json_integer_value(d);
    }
    size_t i;
    json_t *e;
    json_array_foreach(shards, i, e) if (load_shard(dir, e, vocab, s, cap, diag) != 0) return -1;
    if (s->n_tokens != cap)
        return moec_error(diag, "%s: the shards hold %zu tokens, %zu blocks of %u need %zu", path, s->n_tokens,
                          s->n_blocks, s->seq, cap);
    return 0;
}

int rt_split_load(const char *dir, const char *split, uint32_t vocab, rt_split_data *s, moec_diag *diag)
{
    memset(s, 0, sizeof *s);
    char path[4096];
    if (snprintf(path, sizeof path, "%s/domains.json", dir) >= (int)sizeof path)
        return moec_error(diag, "%s: path too long", dir);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) return moec_error(diag, "%s: %s (build the directory with 'moec data')", path, je.text);
    int rc = load_domains(path, root, s, diag);
    json_t *sp = json_object_get(json_object_get(root, "splits"), split);
    if (rc == 0 && !sp) rc = moec_error(diag, "%s: no split '%s'", path, split);
    if (rc == 0) rc = load_split(dir, path, sp, vocab, s, diag);
    json_decref(root);
    if (rc != 0) rt_split_free(s);
    return rc;
}

void rt_split_free(rt_split_data *s)
{
    for (size_t i = 0; s->domains && i < s->n_domains; i++) free(s->domains[i]);
    free(s->domains);
    free(s->tokens);
    free(s->block_domain);
    memset(s, 0, sizeof *s);
}
